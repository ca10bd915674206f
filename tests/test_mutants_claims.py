"""harness.compare.claims, the parts a verdict is read against: the bands word for word,
their bounds, a run's context (one call, scaling, D too small), what each claim expects
in words, and the clients' dispatch spreads. Written for ``nox -s mutants``
(docs/mutants.md); the verdict logic itself is pinned in tests/test_claims.py.

After an intended change of a claim's wording, rewrite the fixture with
``MUTANTS_REGENERATE=1 pytest tests/test_mutants_claims.py`` and read its diff."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from harness.compare.claims import (
    Band,
    ClaimResult,
    Context,
    bands,
    behaviour,
    check,
    client_dispatch_s,
    cpu_behaviour,
    cpu_expectation,
    expected_behaviour,
    expected_text,
    rejection_text,
    servers_for,
)
from harness.core.catalog import CATALOG, Catalog
from harness.core.claims import CLAIMS, CLAIMS_BY_ID
from tests.test_claims import CPU, HANDLERS, WAIT, article_frame, cpu_frame, row, small_d_frame

FIXTURE = Path(__file__).parent / "fixtures" / "mutants" / "claims-expected.json"
INF = math.inf


def test_bands_waiting() -> None:
    assert bands(5, 2, "wait") == {
        "concurrent": Band("concurrent", "~1 x D (<= 1.5x), 5 in flight", 0.0, 1.5, 5),
        "serial": Band("serial", "~5 x D (>= 4.5x), 1 in flight", 4.5, INF, 1),
    }
    assert bands(5, 2, "wait", 2)["bounded"] == Band("bounded", "~3 x D (ceil(N / 2)), 2 in flight", 2.5, 3.5, 2)
    assert bands(5, 2, "wait", 8)["bounded"] == Band("bounded", "~1 x D (ceil(N / 8)), 5 in flight", 0.5, 1.5, 5)
    assert "bounded" not in bands(5, 2, "wait", 0)


def test_bands_computing() -> None:
    assert bands(5, 2, "cpu") == {
        "parallel": Band("parallel", "~2.5 x D (N / cores), 5 in flight", 1.5, 3.75, 5),
        "interleaved": Band("interleaved", "~5 x D with all 5 in flight (no parallelism)", 4.0, INF, 5),
        "serial": Band("serial", "~5 x D, 1 in flight", 4.0, INF, 1),
    }
    assert bands(5, 2, "cpu", 4)["bounded"] == Band("bounded", "~4 x D (ceil(N / 4)), 4 in flight", 3.5, 4.5, 4)
    assert bands(5, 8, "cpu", 2)["bounded"] == Band("bounded", "~3 x D (ceil(N / 2)), 2 in flight", 2.5, 3.5, 2)
    assert bands(6, 8, "cpu")["parallel"] == Band("parallel", "~1 x D (N / cores), 6 in flight", 0.6, 1.75, 6)


def test_band_holds_on_its_bounds() -> None:
    band = Band("b", "", 1.0, 2.0, 3)
    assert band.holds(1.0, 3) and band.holds(2.0, 3)
    assert not band.holds(0.99, 3) and not band.holds(2.01, 3) and not band.holds(1.5, 2)


def test_context_of_a_run() -> None:
    settings = {"clients": 5, "delay_s": 0.05, "work": "cpu", "calibration": {"python_call_s": 0.06, "go_call_s": 0.0}}
    ctx = Context.of(settings, {"cores": 2}, CATALOG, {"go": 0.04}, server_call_s={"s": 0.1}, dispatch_s={"c": 0.01})
    assert ctx == Context(5, 2, "cpu", CATALOG, {"python": 0.06, "go": 0.04}, 0.05, {"s": 0.1}, {"c": 0.01})
    plain = Context.of({"clients": 3, "delay_s": 0.5}, {"cores": 1}, CATALOG)
    assert plain == Context(3, 1, "wait", CATALOG, {}, 0.5, {}, {})
    go_only = Context.of({"clients": 3, "delay_s": 0.5, "calibration": {"go_call_s": 0.2}}, {"cores": 1}, CATALOG)
    assert go_only.call_s == {"go": 0.2}


def test_a_cpu_ratio_is_read_against_one_call() -> None:
    ctx = Context(5, 2, "cpu", CATALOG, {"python": 0.06, "go": 0.04}, 0.05, {"fastapi-def": 0.1})
    assert ctx.scale("fastapi-def") == pytest.approx(2.0)
    assert ctx.scale("go-nethttp") == pytest.approx(0.8)
    assert ctx.scale("django-runserver") == pytest.approx(1.2)
    assert ctx.scale("not-in-the-catalog") == pytest.approx(1.2)
    assert Context(5, 2, "cpu", CATALOG, None, 0.05).scale("go-nethttp") == 1.0
    assert Context(5, 2, "cpu", CATALOG, {"go": 0.04}, 0.0).scale("go-nethttp") == 1.0
    assert Context(5, 2, "wait", CATALOG, {"go": 0.04}, 0.05).scale("go-nethttp") == 1.0
    scaled = ctx.bands_for("fastapi-def")
    assert scaled["serial"] == Band("serial", "~5 x D, 1 in flight, one call = 2.00 D", 8.0, INF, 1)
    assert scaled["bounded"] == Band("bounded", "~20 x D (ceil(N / 40)), 5 in flight, one call = 2.00 D",
                                     2 * 19.5, 2 * 20.5, 5)  # fmt: skip
    assert ctx.bands_for("gunicorn-threads5")["bounded"].in_flight == 5
    assert Context(5, 2, "wait", CATALOG).bands_for("go-bounded") == bands(5, 2, "wait", 2)


def test_d_too_small_and_the_d_needed() -> None:
    ctx = Context(5, 2, "wait", CATALOG, delay_s=0.05, dispatch_s={"a": 0.01, "b": 0.0123})
    assert not ctx.too_small("a")  # 0.05 = 5 x 0.01: just enough
    assert ctx.too_small("b") and not ctx.too_small("c")
    assert ctx.too_small_for({"client": "b"})
    assert ctx.needed_delay_s() == pytest.approx(0.062)
    assert Context(5, 2, "wait", CATALOG, dispatch_s={"a": 0.2}).needed_delay_s() == pytest.approx(1.0)
    assert Context(5, 2, "wait", CATALOG, dispatch_s={"a": 0.0234}).needed_delay_s() == pytest.approx(0.12)
    assert Context(5, 2, "wait", CATALOG).needed_delay_s() is None


def test_the_generic_claim_expects_each_servers_capacity() -> None:
    g1, c5 = CLAIMS_BY_ID["G1"], CLAIMS_BY_ID["C5"]
    ctx = Context(5, 2, "wait", CATALOG)
    assert expected_behaviour(g1, "go-nethttp", ctx) == "concurrent"  # unbounded
    assert expected_behaviour(g1, "granian-wsgi", ctx) == "concurrent"  # k = N
    assert expected_behaviour(g1, "go-bounded", ctx) == "bounded"
    assert expected_behaviour(g1, "gunicorn-default", ctx) == "serial"
    assert expected_behaviour(g1, "not-in-the-catalog", ctx) == "concurrent"
    assert expected_behaviour(c5, "go-nethttp", ctx) == "serial"
    assert expected_behaviour(CLAIMS_BY_ID["C11"], "go-nethttp", ctx) == "concurrent"


def test_cpu_expectations_in_words() -> None:
    ctx = Context(5, 2, "cpu", CATALOG)
    assert (
        cpu_expectation("interleaved", ctx, None) == "all 5 in flight, parallelism <= 1.25 (one core's worth; ~5 calls)"
    )
    assert cpu_expectation("parallel", ctx, None) == (
        "all 5 in flight, parallelism >= 1.5 of 2 usable cores (~2.5 calls)"
    )
    assert cpu_expectation("bounded", ctx, 2) == "2 in flight (~3 rounds)"
    assert cpu_expectation("bounded", ctx, None) == "1 in flight (~5 calls)"
    assert cpu_expectation("serial", ctx, 2) == "1 in flight (~5 calls)"


def expected_texts() -> dict[str, str]:
    wait = Context(5, 2, "wait", CATALOG)
    cpu = Context(5, 2, "cpu", CATALOG, {"python": 0.06}, 0.05)
    found = {}
    for claim in CLAIMS:
        ctx = cpu if claim.work == "cpu" else wait
        found[claim.id] = expected_text(claim, ctx, servers_for(claim, CATALOG))
    found["G1 of two"] = expected_text(CLAIMS_BY_ID["G1"], wait, ("go-bounded", "gunicorn-default"))
    found["C2 of none"] = expected_text(CLAIMS_BY_ID["C2"], wait, ())
    return found


def test_what_every_claim_expects_word_for_word() -> None:
    found = expected_texts()
    if os.environ.get("MUTANTS_REGENERATE"):
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    assert found == json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_dispatch_spreads_are_read_on_servers_that_hold_all_n() -> None:
    rows = pd.DataFrame(
        [
            {"server": "go-nethttp", "client": "go-goroutines", "dispatch_s": 0.004, "send_spread_s": 0.001},
            {"server": "gunicorn-threads5", "client": "go-goroutines", "dispatch_s": 0.003, "send_spread_s": 0.002},
            {"server": "go-bounded", "client": "go-goroutines", "dispatch_s": 0.0001, "send_spread_s": 0.0001},
            {"server": "nope", "client": "go-goroutines", "dispatch_s": 0.0001, "send_spread_s": 0.0001},
            {"server": "go-nethttp", "client": "httpx-sequential", "dispatch_s": 0.0001, "send_spread_s": 0.0001},
            {"server": "go-nethttp", "client": "nope", "dispatch_s": 0.0001, "send_spread_s": 0.0001},
            {"server": "go-nethttp", "client": "httpx-async", "dispatch_s": float("nan"), "send_spread_s": 0.003},
            {"server": "django-runserver", "client": "httpx-threads", "dispatch_s": 0.005, "send_spread_s": None},
        ]
    )
    assert client_dispatch_s(rows, CATALOG, 5) == {"go-goroutines": 0.003, "httpx-threads": 0.005}
    assert client_dispatch_s(rows, CATALOG, 5, "cpu") == {"go-goroutines": 0.001, "httpx-async": 0.003}
    assert client_dispatch_s(rows.drop(columns=["dispatch_s"]), CATALOG, 5) == {}


def test_a_composite_claim_says_what_it_rests_on() -> None:
    c11 = {c.id: c for c in check(article_frame(), {}, WAIT)}["C11"]
    assert c11 == ClaimResult(
        "C11", CLAIMS_BY_ID["C11"].text, "C6, C7, C8, C9, C10 all confirmed, one handler",
        "C6 confirmed, C7 confirmed, C8 confirmed, C9 confirmed, C10 confirmed; handler(s) seen: none",
        "inconclusive", "wait", True,
    )  # fmt: skip
    seen = {c.id: c for c in check(article_frame(), {"gunicorn-default": {"b", "a"}}, WAIT)}["C11"]
    assert seen.measured.endswith("; handler(s) seen: a, b") and seen.verdict == "refuted"


def test_a_run_of_other_than_five_clients_checks_no_article_claim() -> None:
    c1 = {c.id: c for c in check(article_frame(), {}, Context(3, 2, "wait", CATALOG))}["C1"]
    assert c1 == ClaimResult(
        "C1", CLAIMS_BY_ID["C1"].text, "~1 x D (<= 1.5x), 3 in flight, 1 process(es), 3 thread(s)",
        "the claims are about 5 clients; this run used 3", "inconclusive", "wait", True,
    )  # fmt: skip


def test_the_generic_claim_is_about_the_servers_that_ran() -> None:
    frame = pd.DataFrame(
        [row("granian-wsgi", "go-goroutines", 1.02, 5), row("hypercorn-asgi", "go-goroutines", 1.02, 5)]
    )
    g1 = {c.id: c for c in check(frame, {}, WAIT)}["G1"]
    assert g1.expected == "granian-wsgi: ~1 x D (<= 1.5x), 5 in flight; hypercorn-asgi: ~1 x D (<= 1.5x), 5 in flight"
    assert (g1.verdict, g1.work, g1.article) == ("confirmed", "wait", False)


def test_behaviour_of_a_row_without_a_ratio_or_evidence() -> None:
    assert behaviour(row("go-nethttp", "go-goroutines", 1.0, 5, status="failed"), WAIT) == "failed"
    assert behaviour({**row("go-nethttp", "go-goroutines", 1.0, 5), "ratio_median": None}, WAIT) == "failed"
    assert behaviour({**row("go-nethttp", "go-goroutines", 1.0, 5), "max_in_flight": None}, WAIT) == "no evidence"


def test_cpu_behaviour_on_its_bounds() -> None:
    def shown(in_flight: object, par: float, cores: int = 2, **kw: object) -> str:
        r = {**row("fastapi-async", "go-goroutines", 3.0, 5, parallelism=par), "max_in_flight": in_flight, **kw}
        return cpu_behaviour(r, Context(5, cores, "cpu", CATALOG))

    assert shown(5, 1.5) == "parallel"  # 1 + 0.5 x (2 - 1): just parallel
    assert shown(5, 1.25) == "interleaved"
    assert shown(5, 1.25, other_load=0.5) == "interleaved"
    assert shown(5, 1.25, other_load=0.51) == "in between"
    assert shown(5, 1.0, cores=1) == "concurrent"
    assert shown(True, 1.0) == "in between"  # a bool is no count


MEASURED = Path(__file__).parent / "fixtures" / "mutants" / "claims-measured.json"


def measured_texts() -> dict[str, dict[str, list[str]]]:
    """What ``check`` says it measured, for the runs of tests/test_claims.py."""
    cpu = Context(5, 2, "cpu", CATALOG, {"python": 0.06, "go": 0.04}, 0.05, {"fastapi-def": 0.1})
    small = small_d_frame()
    small_ctx = Context.of({"clients": 5, "delay_s": 0.002}, {"cores": 2}, CATALOG,
                           dispatch_s=client_dispatch_s(small, CATALOG, 5))  # fmt: skip
    one_worker = cpu_frame()
    one_worker.loc[one_worker["server"] == "gunicorn-workers5", ["processes", "parallelism"]] = (1, 1.0)
    two_workers = cpu_frame()
    two_workers.loc[two_workers["server"] == "gunicorn-workers5", ["processes", "parallelism"]] = (2, 1.0)
    runs = {
        "article": (article_frame(), WAIT),
        "article, one failed": (article_frame(**{"go-nethttp|go-goroutines": (1.0, 5, 1, 5, "failed")}), WAIT),
        "cpu": (cpu_frame(), cpu),
        "cpu, one core": (cpu_frame(), Context(5, 1, "cpu", CATALOG)),
        "cpu, one worker": (one_worker, cpu),
        "cpu, two workers": (two_workers, cpu),
        "small D": (small, small_ctx),
    }
    return {
        name: {c.id: [c.verdict, c.measured] for c in check(frame, HANDLERS, ctx)}
        for name, (frame, ctx) in runs.items()
    }


def test_what_check_says_it_measured_word_for_word() -> None:
    found = measured_texts()
    if os.environ.get("MUTANTS_REGENERATE"):
        MEASURED.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    assert found == json.loads(MEASURED.read_text(encoding="utf-8"))


# uvicorn-limit5 declares k = 4: at N = 5, every batch should serve 4 and turn 1 away at once.
AS_DECLARED = {"server": "uvicorn-limit5", "client": "go-goroutines", "status": "ok", "ratio_median": 1.02,
               "rejected": 3, "served_min": 4, "served_max": 4, "max_in_flight": 4, "failed_requests": 0,
               "rejected_late": 0, "served_fast": 0}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({}, "rejecting"),
        ({"max_in_flight": None}, "rejecting"),  # no in-flight evidence: the per-batch counts decide
        ({"served_min": 0, "served_max": 0, "max_in_flight": None}, "rejecting all"),
        ({"served_min": 1, "served_max": 1, "max_in_flight": 1}, "rejecting other than k"),  # one served, not 0
        ({"served_min": 2, "served_max": 4}, "rejecting other than k"),
        ({"max_in_flight": 5}, "rejecting other than k"),  # more held than the limit
        ({"failed_requests": 1}, "rejecting other than k"),
        ({"served_fast": 1}, "rejecting other than k"),  # an answer before D is no served request
        ({"rejected_late": 1}, "rejecting other than k"),  # queued, then turned away
        ({"served_min": None}, "in between"),  # no per-batch counts
        ({"served_max": None}, "in between"),
        ({"server": "go-nethttp"}, "in between"),  # no declared k to hold it to
    ],
)
def test_a_rejecting_pairing_is_read_per_batch(change: dict[str, object], shown: str) -> None:
    assert behaviour({**AS_DECLARED, **change}, WAIT) == shown


@pytest.mark.parametrize(
    ("rows", "text"),
    [
        ([AS_DECLARED], "go-goroutines 4 served + 1 rejected per batch"),
        ([{**AS_DECLARED, "served_min": 2}], "go-goroutines 2-4 served + 1-3 rejected per batch"),
        ([{**AS_DECLARED, "rejected_late": 2, "served_fast": 1}],
         "go-goroutines 4 served + 1 rejected per batch (2 rejected later than 0.5 x D) (1 served in under 0.5 x D)"),
        ([{**AS_DECLARED, "rejected_late": None, "served_fast": None}],
         "go-goroutines 4 served + 1 rejected per batch"),
        ([{**AS_DECLARED, "served_fast": 3}],
         "go-goroutines 4 served + 1 rejected per batch (3 served in under 0.5 x D)"),
        ([{**AS_DECLARED, "served_max": None}, {**AS_DECLARED, "client": "httpx-async"}],
         "httpx-async 4 served + 1 rejected per batch"),  # a pairing without counts is left out, not the rest
        ([AS_DECLARED, {**AS_DECLARED, "client": "httpx-async", "served_min": 3}],
         "go-goroutines 4 served + 1 rejected per batch, httpx-async 3-4 served + 1-2 rejected per batch"),
        ([{**AS_DECLARED, "served_min": None}], "no per-batch served/rejected counts"),
    ],
)  # fmt: skip
def test_how_the_batches_split_in_words(rows: list[dict[str, object]], text: str) -> None:
    assert rejection_text(pd.DataFrame(rows), WAIT) == text


def test_what_the_rejecting_claim_expects_at_any_k() -> None:
    x14 = CLAIMS_BY_ID["X14"]
    four = Context(4, 2, "wait", CATALOG)
    assert "per batch 4 served in about D and 0 answered 503 at once" in expected_text(x14, four, ("uvicorn-limit5",))
    assert "and 5 answered 503 at once" in expected_text(x14, WAIT, ())  # no declared k: none is served


def test_a_runs_http_version_is_in_its_context() -> None:
    assert Context.of({"clients": 5, "delay_s": 0.1, "http": "2"}, {"cores": 2}, CATALOG).http == "2"
    assert Context.of({"clients": 5, "delay_s": 0.1}, {"cores": 2}, CATALOG).http == "1.1"


def one(claim: str, rows: list[dict[str, object]], ctx: Context, catalog_handlers: dict | None = None) -> ClaimResult:
    return next(c for c in check(pd.DataFrame(rows), catalog_handlers or {}, ctx) if c.id == claim)


def test_a_claim_with_no_pairing_says_how_to_run_it() -> None:
    """uvicorn-workers5 ran, but only with the sequential client: X4 has no pairing to judge."""
    result = one("X4", [row("uvicorn-workers5", "httpx-sequential", 5.1, 1, 5, parallelism=1.0)], CPU)
    assert (result.verdict, result.measured) == (
        "inconclusive",
        "not measured: run with --servers uvicorn-workers5,gunicorn-uvicorn5",
    )


def test_what_is_not_measured_comes_first_in_the_evidence() -> None:
    result = one("X1", [row("fastapi-def", "go-goroutines", 5.0, 5, 1, 5, parallelism=1.0)], CPU)
    assert result.measured == (
        "fastapi-def go-goroutines 5.00x (5.00 calls); not measured: django-runserver, gunicorn-threads5; in flight 5; "
        "processes 1; threads 5; parallelism 1.00"
    )


def test_a_claim_declared_by_two_clients_needs_both_measured() -> None:
    clients = tuple(c.model_copy(update={"claims": ("C2",)}) if c.name == "httpx-async" else c for c in CATALOG.clients)
    ctx = Context(5, 2, "wait", Catalog(CATALOG.servers, clients))
    result = one("C2", [row("go-nethttp", "go-goroutines", 1.02, 5, 1, 5)], ctx)
    assert (result.verdict, result.measured) == (
        "inconclusive",
        "go-goroutines 1.02x; not measured: httpx-async; in flight 5; processes 1; threads 5",
    )


@pytest.mark.parametrize(
    ("processes", "verdict"),
    [(None, "inconclusive"), (1, "inconclusive"), (2, "refuted"), (5, "refuted")],
)
def test_a_spread_claim_is_refuted_only_when_the_work_reached_two_workers(processes: int | None, verdict: str) -> None:
    """X4 (async workers run in parallel): one at a time in one worker is the kernel's pick of
    a worker, no test; one at a time with two or more workers seen is a refutation."""
    serial = {**row("uvicorn-workers5", "go-goroutines", 5.1, 1, parallelism=1.0), "processes": processes}
    parallel = {**row("gunicorn-uvicorn5", "go-goroutines", 2.7, 5, 5, parallelism=1.9)}
    assert one("X4", [serial, parallel], CPU).verdict == verdict


def test_a_failed_cpu_pairing_shows_no_calls() -> None:
    failed = row("go-nethttp", "go-goroutines", 2.7, 5, status="failed", parallelism=1.9)
    assert one("X5", [failed], CPU).measured.startswith("go-goroutines failed; in flight 5")


def test_d_too_small_stands_on_one_core_too() -> None:
    """On one core a parallelism claim is *inconclusive (1 usable core)*, unless D was too small,
    which says what to change."""
    ctx = Context(5, 1, "cpu", CATALOG, delay_s=0.05, dispatch_s={"go-goroutines": 0.02})
    result = one("X5", [row("go-nethttp", "go-goroutines", 2.7, 5, parallelism=1.9)], ctx)
    assert result.verdict == "D too small"


def test_d_too_small_names_each_client_and_its_spread() -> None:
    ctx = Context(5, 2, "wait", CATALOG, delay_s=0.2, dispatch_s={"go-goroutines": 0.1234, "httpx-async": 0.05})
    rows = [row("go-nethttp", c, 1.02, 5, 1, 5) for c in ("go-goroutines", "httpx-async")]
    assert one("C1", rows, ctx).measured.endswith(
        "D too small for go-goroutines, httpx-async (dispatch spread go-goroutines 123.4 ms, httpx-async 50.0 ms; "
        "D >= 5 x that: use --delay 0.62 or more)"
    )


def test_a_pairing_without_in_flight_evidence_still_shows_its_processes_and_threads() -> None:
    without = {**AS_DECLARED, "max_in_flight": None, "processes": 1, "threads": 1, "client_concurrent": True}
    result = one("X14", [without], WAIT)
    assert (result.verdict, result.measured) == (
        "confirmed",
        "go-goroutines 1.02x; processes 1; threads 1; go-goroutines 4 served + 1 rejected per batch",
    )


def test_parallelism_is_evidence_only_with_cpu_work() -> None:
    result = one("C1", [row("go-nethttp", "go-goroutines", 1.02, 5, 1, 5, parallelism=0.1)], WAIT)
    assert result.measured == "go-goroutines 1.02x; in flight 5; processes 1; threads 5"
