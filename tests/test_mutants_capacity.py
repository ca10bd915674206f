"""harness.sweep.capacity, exactly: the explanation of a missed point word for word, the
bounds of "served at once", "fits the model" and "budget too short", and each verdict's
reason. Written for ``nox -s mutants`` (docs/mutants.md)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from harness.sweep.capacity import (
    CapacityResult,
    assess,
    assess_all,
    budget_too_short,
    capacity_group,
    explain,
    fits_model,
    served_at_once,
    syn_staircase,
)


def row(n: int, ratio: float | None = 1.0, *, status: str = "ok", **kw: Any) -> dict[str, Any]:
    return {"server": "s", "clients": n, "ratio": ratio, "status": status, "max_in_flight": n, "failed": 0,
            "predicted_ratio": 1.0, **kw}  # fmt: skip


def test_capacity_group() -> None:
    assert capacity_group(None) == "unbounded"
    assert capacity_group(1) == "serial"
    assert capacity_group(2) == "bounded"
    assert capacity_group(2, declared=False) == "undeclared"
    assert capacity_group(None, declared=False) == "undeclared"


def test_served_at_once_bounds() -> None:
    assert served_at_once(row(4, 1.5))
    assert not served_at_once(row(4, 1.51))
    assert not served_at_once(row(4, None))
    assert not served_at_once(row(4, status="over budget"))
    assert not served_at_once(row(4, max_in_flight=3))
    assert not served_at_once(row(4, failed=1))
    assert served_at_once(row(4, failed=None))


def test_fits_model_bounds() -> None:
    assert fits_model(row(5, 2.5, max_in_flight=4), 4)
    assert fits_model(row(5, 1.5, max_in_flight=4), 4)
    assert not fits_model(row(5, 2.51, max_in_flight=4), 4)
    assert not fits_model(row(5, 1.49, max_in_flight=4), 4)
    assert not fits_model(row(5, 2.0, max_in_flight=5), 4)
    assert not fits_model(row(5, 2.0, max_in_flight=None), 4)
    assert not fits_model(row(5, None, max_in_flight=4), 4)
    assert not fits_model(row(5, 2.0, max_in_flight=4, failed=1), 4)
    assert not fits_model(row(5, 2.0, max_in_flight=4, status="over budget"), 4)


def test_budget_too_short_bounds() -> None:
    over = {"status": "over budget", "delay_s": 1.0}
    assert budget_too_short(row(5, **{**over, "budget_s": 2.49}), 4)
    assert not budget_too_short(row(5, **{**over, "budget_s": 2.5}), 4)
    assert not budget_too_short(row(5, **{**over, "budget_s": None}), 4)
    assert not budget_too_short(row(5, **{**over, "budget_s": 1.0, "delay_s": 0}), 4)
    assert not budget_too_short(row(5, budget_s=1.0, delay_s=1.0), 4)


def test_explain_a_point_that_did_not_run() -> None:
    assert explain(row(5, None, status="not run", reason="skipped")) == "N=5: not run (skipped)"
    assert explain(row(5, 2.0, status="failed")) == "N=5: failed (no batch)"
    assert explain(row(5, None)) == "N=5: ok (no batch)"
    assert explain(row(5, 2.0, status="not run", reason="x")) == "N=5: not run (x)"


def test_explain_every_part() -> None:
    full = row(
        5, 2.0, status="over budget", predicted_ratio=1.0, failed=2, first_error="reset", max_in_flight=5,
        late_max_d=0.25, hold_max_d=1.1, server_cpu_s=0.5, machine_busy=0.9, listen_overflows=3, syn_retrans=1,
    )  # fmt: skip
    assert explain(full) == (
        "N=5: 2.00x (predicted 1x), over budget, 2 of 5 failed (reset), the last request reached its handler "
        "0.25 x D after the batch started, a handler held its request 1.10 x D (not resumed on time), the "
        "server's processes used 0.50 s of CPU, the machine's cores were 90% busy, the kernel counted 3 "
        "accept-queue overflows and 1 SYN resends (a dropped SYN is resent after 1 s)"
    )


def test_explain_leaves_out_what_is_below_its_note() -> None:
    quiet = row(5, 2.0, failed=0, max_in_flight=4, late_max_d=0.24, hold_max_d=1.09, server_cpu_s=0.5,
                machine_busy=0.9, listen_overflows=0, syn_retrans=None)  # fmt: skip
    assert explain(quiet) == "N=5: 2.00x (predicted 1x), at most 4 in flight"
    assert explain(row(5, 2.0, failed=1)) == "N=5: 2.00x (predicted 1x), 1 of 5 failed (no detail)"
    assert explain(row(5, 2.0, failed=-1)) == "N=5: 2.00x (predicted 1x)"
    # the CPU only beside a late or slow handler, and with every request in flight
    late = row(5, 2.0, max_in_flight=4, late_max_d=0.3, server_cpu_s=0.5, machine_busy=0.9)
    assert "CPU" not in explain(late)
    cpu = {"server_cpu_s": 0.5, "machine_busy": 0.9}
    assert "CPU" not in explain(row(5, 2.0, **cpu))
    assert "CPU" in explain(row(5, 2.0, late_max_d=0.3, **cpu))
    assert "CPU" in explain(row(5, 2.0, hold_max_d=2.0, **cpu))
    assert "CPU" not in explain(row(5, 2.0, late_max_d=0.3, server_cpu_s=None, machine_busy=0.9))
    assert "CPU" not in explain(row(5, 2.0, late_max_d=0.3, server_cpu_s=0.5, machine_busy=None))
    assert explain(row(5, 2.0, syn_retrans=2)).endswith("the kernel counted 0 accept-queue overflows and 2 SYN resends "
                                                        "(a dropped SYN is resent after 1 s)")  # fmt: skip


def test_explain_against_a_declared_k() -> None:
    assert explain(row(5, 2.5, max_in_flight=4), 4) == "N=5: 2.50x (predicted 2x), at most 4 in flight"
    assert explain(row(4, 2.5, max_in_flight=4), 4) == "N=4: 2.50x, off the predicted 1x by more than 0.5 x D"
    assert explain(row(5, 2.51, max_in_flight=5), 4) == (
        "N=5: 2.51x, off the predicted 2x by more than 0.5 x D, 5 in flight, more than the declared 4"
    )
    assert explain(row(5, 2.0, max_in_flight=3), 4) == "N=5: 2.00x (predicted 2x), at most 3 in flight"


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def result(declared: int | None, measured: int | None, at_least: bool, verdict: str, reason: str) -> CapacityResult:
    return CapacityResult("s", declared, "why", measured, at_least, verdict, reason)  # type: ignore[arg-type]


def test_assess_reasons() -> None:
    five = row(5, 2.0, max_in_flight=4)
    assert assess("s", 4, "why", frame(five, row(4))) == result(
        4, 4, False, "consistent", f"N=4 at once; {explain(five)}"
    )
    assert assess("s", None, "why", frame(row(1), five)) == result(
        None, 1, False, "disagrees", f"declared unbounded, but not served at once from {explain(five)}"
    )
    assert assess("s", 4, "why", frame(row(2), five)) == result(
        4, 2, False, "disagrees", f"holds only 2 at once, not 4: {explain(five)}"
    )
    assert assess("s", 4, "why", frame(five)).measured == 0
    assert assess("s", 4, "why", frame(row(4), row(5), row(6, 2.0))) == result(
        4, 5, False, "disagrees", f"held 5 at once, more than the declared 4; {explain(row(6, 2.0))}"
    )
    broken = row(5, 1.4, max_in_flight=4)
    assert assess("s", 4, "why", frame(row(4), row(5, 1.6, max_in_flight=5))).reason == (
        f"N=4 at once, but not waves of 4 at {explain(row(5, 1.6, max_in_flight=5), 4)}"
    )
    assert assess("s", 4, "why", frame(row(4), broken)).verdict == "disagrees"
    short = row(5, 1.4, status="over budget", max_in_flight=4, budget_s=1.0, delay_s=1.0)
    assert assess("s", 4, "why", frame(row(4), short)) == result(
        4, 4, False, "inconclusive", f"N=4 at once; {explain(short)}: the budget cannot hold waves of 4"
    )


def test_assess_when_every_point_was_at_once() -> None:
    stopped = row(8, None, status="not run", reason="cap")
    assert assess("s", 4, "why", frame(row(4), stopped)) == result(
        4, 4, False, "inconclusive", "at once up to N=4; then N=8: not run (cap)"
    )
    assert assess("s", 4, "why", frame(stopped)) == result(4, None, False, "inconclusive", "N=8: not run (cap)")
    assert assess("s", 4, "why", frame(row(4), row(8, status="failed", reason="x"), row(9, 2.0))) == result(
        4, 4, False, "inconclusive", "at once up to N=4; then N=8: failed (x)"
    )
    assert assess("s", None, "why", frame(row(2), row(1))) == result(
        None, 2, True, "consistent", "every N up to 2 at once"
    )
    assert assess("s", 4, "why", frame(row(4), row(5))) == result(
        4, 5, True, "disagrees", "held 5 at once, more than the declared 4"
    )
    assert assess("s", 4, "why", frame(row(1), row(4))) == result(
        4, 4, True, "inconclusive", "at once up to N=4; the ladder stops at 4, below k+1=5"
    )
    empty = pd.DataFrame({"clients": pd.Series([], dtype=int), "status": pd.Series([], dtype=str)})
    assert assess("s", 4, "why", empty) == result(4, None, False, "inconclusive", "no point was measured")


def test_assess_all_keeps_the_servers_order() -> None:
    points = frame(
        {**row(1), "server": "b"}, {**row(1), "server": "a"}, {**row(2, 2.0, max_in_flight=1), "server": "b"}
    )
    found = assess_all(points, {"a": (None, "ra"), "b": (1, "rb")})
    assert [(r.server, r.declared, r.declared_reason, r.verdict) for r in found] == [
        ("b", 1, "rb", "consistent"),
        ("a", None, "ra", "consistent"),
    ]


@pytest.mark.parametrize(
    ("declared", "reason", "verdict", "measured", "at_least", "text"),
    [
        (None, "", "not checked", None, False, ("-", "-")),
        (None, "r", "not checked", None, False, ("unbounded", "-")),
        (None, "", "consistent", None, False, ("unbounded", "not measured")),
        (3, "", "not checked", 2, True, ("3", ">= 2")),
        (3, "", "disagrees", 2, False, ("3", "2")),
    ],
)
def test_texts(declared: int | None, reason: str, verdict: str, measured: int | None, at_least: bool,
               text: tuple[str, str]) -> None:  # fmt: skip
    r = CapacityResult("s", declared, reason, measured, at_least, verdict, "")  # type: ignore[arg-type]
    assert (r.declared_text, r.measured_text) == text


# Past a declared accept backlog of 10, N = 11 with D = 1 s: a SYN resent after 1 s puts the
# batch at D + 1 s = 2 x D; the kernel counts the resend as a SYN retransmit or a listen overflow.
RESENT = row(11, 2.0, delay_s=1.0, syn_retrans=2, listen_overflows=0)


@pytest.mark.parametrize(
    ("change", "backlog", "fits"),
    [
        ({}, 10, True),
        ({"syn_retrans": None, "listen_overflows": 3}, 10, True),  # either counter is the kernel's evidence
        ({"syn_retrans": 0, "listen_overflows": 0}, 10, False),  # D + 1 s without a resend: something else
        ({}, None, False),  # no backlog declared: no staircase
        ({"clients": 10}, 10, False),  # at the backlog the queue holds them all
        ({"ratio": None}, 10, False),
        ({"delay_s": None}, 10, False),  # no D to read the wall time against
        ({"delay_s": 0.0}, 10, False),
        ({"status": "over budget"}, 10, False),
        ({"failed": 1}, 10, False),
        ({"failed": None}, 10, False),  # no failed count: not shown to have none
        ({"ratio": 4.0}, 10, True),  # D + 3 s
        ({"ratio": 8.0}, 10, True),  # D + 7 s
        ({"ratio": 3.0}, 10, False),  # between two resends
        ({"ratio": 2.5}, 10, True),  # D + 1 s, 0.5 x D late: on the slack
        ({"ratio": 1.5}, 10, True),  # 0.5 x D early
        ({"ratio": 2.51}, 10, False),
        ({"ratio": 4.0, "delay_s": 0.5}, 10, False),  # 2 s = D + 1 s + 1 x D: beyond 0.5 x D of every step
        ({"ratio": 3.4, "delay_s": 0.5}, 10, True),  # 1.7 s = D + 1 s + 0.4 x D
    ],
)
def test_syn_staircase_bounds(change: dict[str, Any], backlog: int | None, fits: bool) -> None:
    assert syn_staircase({**RESENT, **change}, backlog) is fits


def test_the_staircase_reason_names_every_late_point() -> None:
    points = frame(row(1), row(10), row(11, 2.0, delay_s=1.0, syn_retrans=1), row(12, 4.0, delay_s=1.0, syn_retrans=1),
                   row(13))  # fmt: skip
    assert assess("s", None, "why", points, 10) == result(
        None, 10, False, "consistent", "every N up to 10 at once; past the declared accept backlog of 10, at once "
        "or one SYN resend late (2.00x at N=11, 4.00x at N=12: D + 1, 3 or 7 s, the kernel counted resends)"
    )  # fmt: skip


def test_assess_all_passes_each_servers_backlog() -> None:
    points = frame(row(10), row(11, 2.0, delay_s=1.0, syn_retrans=1))
    assert [r.verdict for r in assess_all(points, {"s": (None, "why")}, {"s": 10})] == ["consistent"]
    assert [r.verdict for r in assess_all(points, {"s": (None, "why")}, {"other": 10})] == ["disagrees"]
    assert [r.verdict for r in assess_all(points, {"s": (None, "why")})] == ["disagrees"]


def test_every_re_measure_is_named_in_the_reason() -> None:
    points = frame(row(4, remeasured="re-measured (first 2.0x)"), row(8, remeasured="re-measured (first 3.0x)"))
    assert assess("s", None, "why", points).reason == (
        "every N up to 8 at once; N=4 re-measured (first 2.0x); N=8 re-measured (first 3.0x)"
    )
