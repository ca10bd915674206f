"""The capacity model on fixed points: predicted ratios, measured k, verdicts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from harness.core.catalog import CATALOG
from harness.sweep import capacity
from harness.sweep import report as sweep_report
from harness.sweep.runner import SweepPoint, ladder_for
from tests.sweep_helpers import fixed_sweep, not_run, point, waves


@pytest.mark.parametrize(
    ("n", "k", "expected"),
    [(1, None, 1), (1000, None, 1), (5, 5, 1), (6, 5, 2), (10, 5, 2), (41, 40, 2), (7, 1, 7)],
)
def test_predicted_ratio(n: int, k: int | None, expected: float) -> None:
    assert capacity.predicted_ratio(n, k) == expected


def test_ladder_adds_probe_points_up_to_its_top() -> None:
    servers = CATALOG.servers_by_name
    assert ladder_for(servers["gunicorn-threads5"], (1, 2, 10, 20)) == (1, 2, 5, 6, 10, 20)
    assert ladder_for(servers["fastapi-def"], (1, 2, 10)) == (1, 2, 10)  # 40, 41 are above the top
    assert ladder_for(servers["fastapi-def"], (1, 100)) == (1, 40, 41, 100)
    assert ladder_for(servers["go-nethttp"], (1, 5)) == (1, 5)


def frame(points: list) -> pd.DataFrame:
    return sweep_report.point_frame(points, CATALOG)


def assess(server: str, points: list) -> capacity.CapacityResult:
    spec = CATALOG.servers_by_name[server]
    return capacity.assess(server, spec.capacity, spec.capacity_reason, frame(points))


def test_bounded_server_that_behaves_as_declared() -> None:
    result = assess("gunicorn-threads5", [point("gunicorn-threads5", n, 5) for n in (1, 2, 5, 6, 10)])
    assert (result.measured, result.verdict, result.measured_text) == (5, "consistent", "5")
    assert result.reason.startswith("N=5 at once; N=6: 2.04x (predicted 2x), at most 5 in flight")


def off_model(server: str, n: int, *, in_flight: int | None, ratio: float, failed: int = 0, **kw: object) -> SweepPoint:
    """A point that need not follow the model: N requests in waves of ``in_flight``
    (``None``: all at once), a wall time of ``ratio`` x D, the last ``failed`` of them
    failed (no answer, never reached a handler)."""
    base = point(server, n, in_flight, **kw)  # type: ignore[arg-type]
    assert base.batch is not None
    requests = list(waves(n, in_flight, delay_s=base.delay_s))
    for i in range(n - failed, n):
        requests[i] = replace(
            requests[i], error="timeout", status=0, pid=None, thread=None, enter_ns=None, exit_ns=None, handler=None
        )
    batch = replace(base.batch, wall_s=ratio * base.delay_s, requests=tuple(requests))
    return replace(base, batch=batch)


def threads5(*last: object) -> list:
    """gunicorn-threads5 (k = 5) as declared up to N = 5, then the given points."""
    return [*(point("gunicorn-threads5", n, 5) for n in (1, 2, 5)), *last]


def test_k_plus_1_all_in_flight_disagrees() -> None:
    """N = 6 against k = 5 with all 6 in flight at 1.6 x D: not served at once, but not waves of 5 either."""
    result = assess("gunicorn-threads5", threads5(off_model("gunicorn-threads5", 6, in_flight=None, ratio=1.6)))
    assert (result.measured, result.verdict) == (5, "disagrees")
    assert result.reason == (
        "N=5 at once, but not waves of 5 at N=6: 1.60x (predicted 2x), 6 in flight, more than the declared 5"
    )


def test_k_plus_1_with_a_failed_request_disagrees() -> None:
    """Waves of 5 at 2 x D, but one of the six requests failed."""
    last = off_model("gunicorn-threads5", 6, in_flight=5, ratio=2.02, failed=1)
    result = assess("gunicorn-threads5", threads5(last))
    assert (result.measured, result.verdict) == (5, "disagrees")
    assert "N=6: 2.02x (predicted 2x), 1 of 6 failed (timeout)" in result.reason


def test_k_plus_1_ratio_off_the_model_disagrees() -> None:
    """5 in flight, as declared, but 3.5 x D: more than one extra wave."""
    result = assess("gunicorn-threads5", threads5(off_model("gunicorn-threads5", 6, in_flight=5, ratio=3.5)))
    assert (result.measured, result.verdict) == (5, "disagrees")
    assert "N=6: 3.50x, off the predicted 2x by more than 0.5 x D" in result.reason


def test_k_plus_1_over_budget_disagrees() -> None:
    """Waves of 5 would take 2 x D; the point ran out of a 5 s (25 x D) budget."""
    last = off_model("gunicorn-threads5", 6, in_flight=5, ratio=25.0, status="over budget", reason="took the budget")
    result = assess("gunicorn-threads5", threads5(last))
    assert (result.measured, result.verdict) == (5, "disagrees")
    assert "over budget" in result.reason


def test_k_plus_1_over_a_budget_too_short_for_waves_is_inconclusive() -> None:
    """A budget of 0.4 s = 2 x D cannot hold two waves: running out of it tells nothing."""
    points = [
        off_model("gunicorn-threads5", n, in_flight=5, ratio=r, status=st)
        for n, r, st in ((5, 1.02, "ok"), (6, 2.0, "over budget"))
    ]
    points = [replace(p, budget_s=0.4) for p in points]
    result = assess("gunicorn-threads5", points)
    assert (result.measured, result.verdict) == (5, "inconclusive")
    assert "the budget cannot hold waves of 5" in result.reason


def test_k_plus_1_at_the_edges_of_the_band_is_consistent() -> None:
    for ratio in (1.55, 2.45):
        last = off_model("gunicorn-threads5", 6, in_flight=5, ratio=ratio)
        assert assess("gunicorn-threads5", threads5(last)).verdict == "consistent", ratio


def test_serial_server_with_two_in_flight_at_n2_disagrees() -> None:
    """k = 1: N = 2 must show 1 in flight at ~2 x D; both in flight at 2 x D break it."""
    points = [point("gunicorn-default", 1, 1), off_model("gunicorn-default", 2, in_flight=None, ratio=2.0)]
    result = assess("gunicorn-default", points)
    assert (result.measured, result.verdict) == (1, "disagrees")
    assert result.reason == (
        "N=1 at once, but not waves of 1 at N=2: 2.00x (predicted 2x), 2 in flight, more than the declared 1"
    )


def test_serial_server_as_declared_is_consistent() -> None:
    result = assess("gunicorn-default", [point("gunicorn-default", n, 1) for n in (1, 2, 5)])
    assert (result.measured, result.verdict) == (1, "consistent")
    assert result.reason.startswith("N=1 at once; N=2: 2.04x (predicted 2x), at most 1 in flight")


def test_unbounded_server_with_a_failed_request_disagrees() -> None:
    points = [point("go-nethttp", 1, None), off_model("go-nethttp", 10, in_flight=None, ratio=1.02, failed=1)]
    result = assess("go-nethttp", points)
    assert (result.measured, result.verdict) == (1, "disagrees")
    assert "N=10: 1.02x (predicted 1x), 1 of 10 failed (timeout), at most 9 in flight" in result.reason


def test_unbounded_server_over_budget_disagrees() -> None:
    last = off_model("go-nethttp", 10, in_flight=None, ratio=1.02, status="over budget", reason="took the budget")
    result = assess("go-nethttp", [point("go-nethttp", 1, None), last])
    assert (result.measured, result.verdict) == (1, "disagrees")


def test_bounded_server_that_holds_fewer() -> None:
    result = assess("gunicorn-threads5", [point("gunicorn-threads5", n, 2) for n in (1, 2, 5, 6)])
    assert (result.measured, result.verdict) == (2, "disagrees")
    assert "holds only 2 at once, not 5: N=5: 3.06x (predicted 1x), at most 2 in flight" in result.reason


def test_bounded_server_that_holds_more() -> None:
    result = assess("gunicorn-threads5", [point("gunicorn-threads5", n, None) for n in (1, 5, 6, 10)])
    assert (result.measured, result.verdict) == (10, "disagrees")
    assert "more than the declared 5" in result.reason


def test_unbounded_server_served_every_n_at_once() -> None:
    result = assess("go-nethttp", [point("go-nethttp", n, None) for n in (1, 10, 100)])
    assert (result.measured, result.measured_at_least, result.verdict) == (100, True, "consistent")
    assert result.measured_text == ">= 100"


def test_unbounded_server_that_stalls_says_why() -> None:
    points = [point("django-runserver", n, None) for n in (1, 10)]
    slow = point("django-runserver", 20, 13)  # 13 at once, the rest 1 x D later
    slow = type(slow)(**{**slow.__dict__, "tcp": {"ListenOverflows": 7, "TCPSynRetrans": 7}})
    result = assess("django-runserver", [*points, slow])
    assert (result.measured, result.verdict) == (10, "disagrees")
    assert "at most 13 in flight" in result.reason
    assert "7 accept-queue overflows and 7 SYN resends" in result.reason
    assert "the last request reached its handler 1.0" in result.reason


def test_ladder_below_k_is_inconclusive() -> None:
    result = assess("fastapi-def", [point("fastapi-def", n, 40) for n in (1, 2, 5, 10)])
    assert (result.measured, result.verdict) == (10, "inconclusive")
    assert "below k+1=41" in result.reason


def test_not_run_points_stop_the_reading() -> None:
    points = [point("go-nethttp", 1, None), not_run("go-nethttp", 10, "not run: server died")]
    result = assess("go-nethttp", points)
    assert (result.measured, result.verdict) == (1, "inconclusive")


def test_serial_server_first_point_failing_measures_zero() -> None:
    result = assess("gunicorn-default", [point("gunicorn-default", n, 1, status="ok") for n in (2, 5)])
    assert (result.measured, result.verdict) == (0, "disagrees")


def test_fixed_sweep_verdicts(tmp_path: Path) -> None:
    report = sweep_report.build(fixed_sweep(tmp_path))
    found = {c.server: (c.declared, c.measured_text, c.verdict) for c in report.capacity}
    assert found == {
        "go-nethttp": (None, ">= 20", "consistent"),
        "gunicorn-threads5": (5, "5", "consistent"),
        "gunicorn-default": (1, "1", "consistent"),
    }


def resent(n: int, *, server: str = "django-runserver", delay_s: float = 0.2) -> SweepPoint:
    """N at once but served one SYN resend late: D + 1 s, with the kernel counting resends."""
    p = point(server, n, None, delay_s=delay_s)
    assert p.batch is not None
    return replace(p, batch=replace(p.batch, wall_s=delay_s + 1.0), tcp={"ListenOverflows": 2, "TCPSynRetrans": 2})


def assess_backlog(points: list) -> capacity.CapacityResult:
    spec = CATALOG.servers_by_name["django-runserver"]
    return capacity.assess("django-runserver", spec.capacity, spec.capacity_reason, frame(points), spec.backlog)


def test_runserver_declares_its_accept_backlog() -> None:
    assert CATALOG.servers_by_name["django-runserver"].backlog == 10


def test_past_the_declared_backlog_a_syn_resend_late_fits_the_model() -> None:
    backlog = CATALOG.servers_by_name["django-runserver"].backlog
    assert backlog is not None
    at_once = [point("django-runserver", n, None) for n in (1, 5, backlog)]
    result = assess_backlog([*at_once, resent(backlog + 1)])
    assert (result.measured, result.verdict) == (backlog, "consistent"), result
    assert f"accept backlog of {backlog}" in result.reason and "6.00x at N=11" in result.reason
    # at the backlog itself the queue holds them all: a resend there breaks the model
    assert assess_backlog([*at_once[:2], resent(backlog)]).verdict == "disagrees"
    # without the kernel's resends, D + 1 s is not the staircase
    silent = replace(resent(backlog + 1), tcp={"ListenOverflows": 0, "TCPSynRetrans": 0})
    assert assess_backlog([*at_once, silent]).verdict == "disagrees"
    # a server that declares no backlog gets no staircase
    assert assess("django-runserver", [*at_once, resent(backlog + 1)]).verdict == "disagrees"


def test_a_remeasured_miss_is_the_point_judged_and_the_reason_says_so() -> None:
    first = resent(20, server="go-nethttp")
    again = replace(point("go-nethttp", 20, None), remeasure=True)
    rows = frame([point("go-nethttp", 10, None), first, again])
    assert list(rows["clients"]) == [10, 20]  # the first batch at N=20 gives way to the re-measure
    result = capacity.assess("go-nethttp", None, "", rows)
    assert result.verdict == "consistent"
    assert "N=20 re-measured after a miss (first batch 6.00x; the second is judged)" in result.reason


def test_only_a_point_not_served_at_once_is_a_miss() -> None:
    from harness.sweep.runner import is_miss

    assert is_miss(resent(20, server="go-nethttp"))
    assert not is_miss(point("go-nethttp", 20, None))
    assert not is_miss(point("go-nethttp", 20, None, status="over budget"))
