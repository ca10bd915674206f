"""Sustained load: the queueing model, the verdicts, and a short real run."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import pytest

from harness.cli.load import warmup_covers
from harness.core.errors import UsageError
from harness.load import model
from harness.load.report import build, cost_s, cpu_ceiling, drain_rps
from harness.load.runner import LoadPlan
from harness.load.steps import TIMEOUT_ERROR, LoadRequest, Step, percentile, step_row
from tests.conftest import assert_none_left, harness


def step(offered: float, achieved: float, lagged: bool = False) -> dict[str, object]:
    return {"offered_rps": offered, "achieved_rps": achieved, "client_lagged": lagged}


def test_the_model_caps_throughput_at_k_over_d() -> None:
    assert model.ceiling_rps(5, 0.05) == pytest.approx(100)
    assert model.ceiling_rps(1, 0.05, cost_s=0.002) == pytest.approx(1 / 0.052)  # D + the server's own cost
    assert math.isinf(model.ceiling_rps(None, 0.05))
    assert model.ceiling_rps(None, 0.05, cost_s=0.0005, cores=1) == pytest.approx(2000)  # cores / c
    assert model.predicted_rps(150, 5, 0.05) == pytest.approx(100)
    assert model.predicted_rps(50, 5, 0.05) == 50
    # below the ceiling latency is the service time; above it the queue grows by λ - μ per second
    assert model.predicted_latency_s(50, 5, 0.05, poisson=False, duration_s=4) == pytest.approx(0.05)
    assert model.predicted_latency_s(150, 5, 0.05, poisson=False, duration_s=4) == pytest.approx(0.05 + 0.5 * 2)
    assert 0.05 < model.predicted_latency_s(90, 5, 0.05, poisson=True, duration_s=4) < 0.1
    assert model.erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = utilisation
    assert model.erlang_c(2, 1.0) == pytest.approx(1 / 3)  # by hand: (a^2/2 * 2/(2-1)) / (1 + 1 + 1)


def test_the_overload_median_includes_the_warm_up_queue() -> None:
    """By hand: μ = 1 / (0.05 + 0.002) = 19.23/s; at 30/s the queue grows 0.56 s of wait per second for
    W = 1 s of warm-up and half of T = 5 s: 0.052 + 0.56 x 3.5 = 2.012 s (published measured p50: 2.000 s;
    the old model said 1.3 s)."""
    got = model.predicted_latency_s(30, 1, 0.05, poisson=False, duration_s=5, warmup_s=1, cost_s=0.002)
    assert got == pytest.approx(0.052 + (30 * 0.052 - 1) * 3.5)
    assert got == pytest.approx(2.000, rel=0.02)
    at_22 = model.predicted_latency_s(22, 1, 0.05, poisson=False, duration_s=5, warmup_s=1, cost_s=0.002)
    assert at_22 == pytest.approx(0.544, rel=0.03)  # published: 544 ms (the old model: 300)
    threads5 = [model.predicted_latency_s(rate, 5, 0.05, poisson=False, duration_s=5, warmup_s=1, cost_s=0.0024)
                for rate in (110, 150)]  # fmt: skip
    assert threads5 == [pytest.approx(0.577, rel=0.05), pytest.approx(2.066, rel=0.05)]


def test_an_unbounded_servers_ceiling_is_where_its_cpu_line_reaches_its_cores() -> None:
    """By hand: 0.5 cores at 1000/s and 0.8 at 2000/s: 0.3 ms more CPU per request, 0.2 cores left at
    2000/s, so the line reaches 1 core at 2000 + 0.2 / 0.0003 = 2666.7/s. cores / c at the faster step
    (c = 0.4 ms) would say 2500/s: the fixed per-second cost is counted as per-request cost."""
    assert model.cpu_ceiling_rps([(1000, 0.5), (2000, 0.8)], 1) == pytest.approx(2000 + 0.2 / 0.0003)
    assert model.cpu_ceiling_rps([(2000, 0.8), (1000, 0.5)], 2) == pytest.approx(2000 + 1.2 / 0.0003)  # any order
    # the second point is the fastest at least 20 % below the top: 1700/s is too close, 1600/s is taken
    assert model.cpu_ceiling_rps([(1600, 0.7), (1700, 0.9), (2000, 0.8)], 1) == pytest.approx(2000 + 0.2 / 0.00025)
    assert model.cpu_ceiling_rps([(1000, 0.5)], 1) is None  # one step: cores / c
    assert model.cpu_ceiling_rps([(1000, 0.5), (2000, 0.5)], 1) is None  # no rise: no line
    assert model.cpu_ceiling_rps([(1000, 0.5), (2000, 0.8)], None) is None  # cores unknown
    assert model.cpu_ceiling_rps([(1000, None), (2000, 0.8)], 1) is None  # type: ignore[list-item]


def test_an_unbounded_servers_overload_median_drains_at_its_measured_rate() -> None:
    """By hand (published fastapi-async at 2400/s: achieved 2217.8/s, p50 294 ms; the old model said
    931 ms from cores / c = 1917/s): S = 0.05 + 0.0005; the queue grows by 2400 / 2217.8 - 1 = 8.2 % of
    the time through W + T / 2 = 3.5 s: 0.0505 + 0.0822 x 3.5 = 0.338 s."""
    got = model.predicted_latency_s(2400, None, 0.05, poisson=False, duration_s=5, warmup_s=1, cost_s=0.0005,
                                    cores=1, drain_rps=2217.8)  # fmt: skip
    assert got == pytest.approx(0.0505 + (2400 / 2217.8 - 1) * 3.5)
    assert got == pytest.approx(0.294, rel=0.15)
    # kept up with (drain = offered): no queue, even above cores / c = 2000/s
    assert model.predicted_latency_s(2100, None, 0.05, poisson=False, duration_s=5, warmup_s=1, cost_s=0.0005,
                                     cores=1, drain_rps=2100) == pytest.approx(0.0505)  # fmt: skip
    assert model.predicted_latency_s(2100, None, 0.05, poisson=False, duration_s=5, warmup_s=1, cost_s=0.0005,
                                     cores=1, drain_rps=2000, timeout_s=0.1) == 0.1  # fmt: skip


def test_the_report_uses_the_cpu_line_and_the_measured_drain() -> None:
    def row(rate: float, achieved: float, cpu: float, p50: float) -> dict[str, object]:
        return {**_row(rate, achieved, p50=p50), "server": "async", "server_cpu_cores": cpu,
                "server_cpu_per_request_s": cpu / achieved}  # fmt: skip

    rows = [row(1000, 1000, 0.5, 0.051), row(2000, 2000, 0.8, 0.052), row(3000, 2500, 1.0, 0.75)]
    assert cpu_ceiling(rows, None, 0.05, 1, 0.0004) == pytest.approx(2666.7, rel=1e-4)
    assert cpu_ceiling(rows, 5, 0.05, 1, 0.0004) is None  # bounded: k / (D + c)
    assert [drain_rps(r, None, 0.0504) for r in rows] == [1000, 2000, 2500]
    assert drain_rps(rows[2], 5, 0.0504) is None
    lagged = {**rows[2], "client_lagged": True}  # its 2500/s measured the client: the CPU line's ceiling instead
    assert drain_rps(lagged, None, 0.0504, 2666.7) == 2666.7 and drain_rps(lagged, None, 0.0504) is None
    steps = [Step("async", float(r["offered_rps"])) for r in rows]  # type: ignore[arg-type]
    report = build(steps, settings={"delay_s": 0.05, "duration_s": 5, "warmup_s": 1},
                   environment={"cores": 1}, capacities={"async": None}, complete=True, rows=rows)  # fmt: skip
    (found,) = report.capacity
    assert found.model_rps == pytest.approx(2666.7, rel=1e-4) and found.measured_rps == 2500
    assert found.verdict == "consistent" and "the model's CPU line = 2667/s" in found.reason
    # c = 0.8 / 2000 = 0.4 ms; at 3000/s: 0.0504 + (3000 / 2500 - 1) x 3.5 = 0.7504 s (cores / c: 0.05 + 0.6 x 3.5)
    assert list(report.steps["model_p50_s"]) == [pytest.approx(0.0504), pytest.approx(0.0504),
                                                 pytest.approx(0.7504)]  # fmt: skip


def test_erlang_c_is_stable_at_k_1000() -> None:
    # the exact value by log-sum-exp of a^i / i! against the recursion through Erlang B
    k, a = 1000, 900.0
    logs = [i * math.log(a) - math.lgamma(i + 1) for i in range(k)]
    last = k * math.log(a) - math.lgamma(k + 1) + math.log(k / (k - a))
    top = max([*logs, last])
    exact = math.exp(last - top) / (sum(math.exp(v - top) for v in logs) + math.exp(last - top))
    got = model.erlang_c(k, a)
    assert not math.isnan(got) and got == pytest.approx(exact, rel=1e-9)
    assert model.erlang_c(1000, 1000.0) == 1.0
    assert 0 < model.wait_mdk_s(1000, 900.0, 0.05) < 0.05


def test_md_k_uses_cosmetatos_correction() -> None:
    # k = 1: exact M/D/1, Wq = ρ S / (2 (1 - ρ)); k = 40, ρ = 0.5: 1.75 x Wq(M/M/k) / 2
    assert model.wait_mdk_s(1, 0.5, 0.1) == pytest.approx(0.5 * 0.1 / (2 * 0.5))
    mmk = model.erlang_c(40, 20.0) * 0.05 / (40 - 20)
    assert model.wait_mdk_s(40, 20.0, 0.05) == pytest.approx(mmk / 2 * 1.7485, rel=1e-3)


@pytest.mark.parametrize(
    ("declared", "steps", "verdict"),
    [
        (5, [step(50, 50), step(95, 94), step(150, 101)], "consistent"),
        (5, [step(50, 50), step(150, 60)], "disagrees"),  # tops out far below k / D
        (5, [step(50, 50), step(150, 180)], "disagrees"),  # more than k / D: not 5 at a time
        (5, [step(50, 50), step(95, 95)], "inconclusive"),  # never offered more than the ceiling
        (5, [step(50, 50, lagged=True)], "inconclusive"),  # the client lagged
        (None, [step(100, 100), step(1000, 995)], "consistent"),
        (None, [step(100, 100), step(1000, 400)], "disagrees"),
    ],
)
def test_ceiling_verdicts(declared: int | None, steps: list[dict[str, object]], verdict: str) -> None:
    assert model.assess("s", declared, 0.05, steps).verdict == verdict


@pytest.mark.integration
def test_a_short_load_run_finds_the_ceilings(tmp_path: Path) -> None:
    run_id = f"load-{uuid.uuid4().hex[:8]}"
    proc = harness("load", "--servers", "gunicorn-default,gunicorn-threads5", "--rates", "10,40,150",
                   "--duration", "1", "--warmup", "0.3", "--out", str(tmp_path), run_id=run_id,
                   timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_none_left(run_id)
    data = json.loads((tmp_path / "load.json").read_text())
    assert re_commit(data["provenance"]["commit"]) and data["environment"]["cores"] >= 1
    steps = {(s["server"], s["offered_rps"]): s for s in data["steps"]}
    for server, ceiling in (("gunicorn-default", 20), ("gunicorn-threads5", 100)):
        top = steps[(server, 150.0)]
        assert top["achieved_rps"] <= 1.3 * ceiling, top  # it cannot serve faster than k / D
        assert top["max_in_flight"] <= ceiling * 0.05, top  # never more than k at once
        below = steps[(server, 10.0)]
        assert below["p50_s"] < 3 * 0.05, below  # below the ceiling: about D
        assert top["p99_s"] > 2 * below["max_s"], (below, top)  # above it: latency climbs
        assert below["p99_s"] is None  # 10 samples: too few for a p99
    for key in ("offered_rps", "achieved_rps", "p50_s", "p90_s", "p99_s", "max_s", "sent", "completed", "failed",
                "late_sends", "max_in_flight", "timed_out", "model_p50_s"):  # fmt: skip
        assert key in data["steps"][0]
    assert {c["server"] for c in data["capacity"]} == {"gunicorn-default", "gunicorn-threads5"}
    assert {(c["limited_by"], c["client_limit_rps"]) for c in data["capacity"]} == {("server", None)}
    assert (tmp_path / "load-requests.csv").stat().st_size > 0
    assert (tmp_path / "pictures" / "load-throughput.png").exists()


def re_commit(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


def _request(i: int, *, intended_s: float, latency_s: float | None, error: str = "", warmup: bool = False,
             enter_s: float | None = None, cpu_ms: float = 0.0) -> LoadRequest:  # fmt: skip
    ns = int(1e9)
    intended = int(intended_s * ns)
    return LoadRequest(name=f"r{i:06d}", warmup=warmup, intended_ns=intended, sent_ns=intended,
                       recv_ns=None if latency_s is None else intended + int(latency_s * ns), status=200,
                       error=error, late=False, server_closed=False, pid=1, thread="t",
                       enter_ns=None if enter_s is None else int(enter_s * ns),
                       exit_ns=None if enter_s is None else int((enter_s + 0.05) * ns),
                       cpu_enter_ns=int(i * 10e6), cpu_exit_ns=int(i * 10e6 + cpu_ms * 1e6))  # fmt: skip


SUMMARY = {"counted_start_ns": int(1e9), "counted_end_ns": int(3e9), "timeout_ns": int(10e9), "end_ns": int(20e9)}


def test_failures_and_timeouts_count_in_the_percentiles() -> None:
    """98 answers in 0.05 s and 2 timeouts: nearest rank p99 is the 99th of 100 samples, a timeout at 10 s
    (its send plus the timeout). The old report left both out: p99 0.05 s."""
    requests = [_request(i, intended_s=1 + i / 100, latency_s=0.05) for i in range(98)]
    requests += [_request(98 + i, intended_s=2.5, latency_s=None, error=TIMEOUT_ERROR) for i in range(2)]
    row = step_row(Step("s", 50.0, requests, dict(SUMMARY)), delay_s=0.05)
    assert row["timed_out"] == 2
    assert row["p50_s"] == pytest.approx(0.05)
    assert row["p99_s"] == pytest.approx(10.0)
    assert row["max_s"] == pytest.approx(10.0)
    assert row["p999_s"] is None  # 100 samples: too few for p99.9


def test_nearest_rank_percentile_and_enough_samples() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99 and percentile(values, 0.9) == 90
    assert percentile(values[:99], 0.99) is None  # 99 samples: no p99
    assert percentile([3.0, 1.0], 0.5) == 1.0


def test_server_cpu_counts_the_counted_window_only() -> None:
    """Two handlers inside the window (1 to 3 s), one after it (the queue draining): only the two count."""
    requests = [_request(0, intended_s=1.1, latency_s=0.06, enter_s=1.1, cpu_ms=2),
                _request(1, intended_s=1.2, latency_s=0.06, enter_s=1.2, cpu_ms=2),
                _request(2, intended_s=1.3, latency_s=4.0, enter_s=5.0, cpu_ms=2)]  # fmt: skip
    row = step_row(Step("s", 10.0, requests, dict(SUMMARY)), delay_s=0.05)
    assert row["server_cpu_cores"] == pytest.approx(0.012 / 2)  # pid 1's span 0 to 12 ms over T = 2 s
    assert row["server_cpu_per_request_s"] == pytest.approx(0.012 / 2)


def test_a_warm_up_shorter_than_d_is_refused() -> None:
    with pytest.raises(UsageError, match="--warmup"):
        warmup_covers(0.5, 2.0)
    assert warmup_covers(1.0, 0.05) == 1.0


def _row(rate: float, achieved: float, *, p50: float = 0.05, lagged: bool = False) -> dict[str, object]:
    return {"offered_rps": rate, "achieved_rps": achieved, "p50_s": p50, "client_lagged": lagged, "status": "ok"}


def test_an_unbounded_server_climbs_then_bisects() -> None:
    plan = LoadPlan(servers=(), delay_s=0.05, duration_s=5, warmup_s=1, rates=None)
    assert plan.ladder_at(None) == () and plan.ladder_at(1000) == ()  # k / D out of a fixed ladder's reach
    assert plan.ladder_at(1) == (10, 16, 19, 22, 30)  # crosses 1.15 k / D
    done: list[tuple[float, dict[str, object]]] = []
    server = {100: 100, 200: 200, 400: 400, 800: 600, 600: 590, 700: 610}
    while (rate := plan.next_rate(None, done)) is not None:
        done.append((rate, _row(rate, server[int(rate)])))
    assert [r for r, _ in done] == [100, 200, 400, 800, 600, 700]
    lagged = [(100.0, _row(100, 100)), (200.0, _row(200, 200, lagged=True))]
    assert plan.next_rate(None, lagged) == 150  # the client lagged: not the server's; bisect below it


def test_a_client_limited_ceiling_is_marked() -> None:
    steps = [_row(1000, 1000), _row(2000, 1995), _row(4000, 2500, lagged=True)]
    found = model.assess("go-nethttp", None, 0.05, steps, cost_s=0.0001, cores=1, client_limit_rps=2000)
    assert (found.limited_by, found.client_limit_rps) == ("client", 2000)
    assert found.reason.startswith("client-limited at 1995/s")
    served = model.assess("x", None, 0.05, [_row(100, 100), _row(400, 300)], cost_s=0.003, cores=1,
                          client_limit_rps=2000)  # fmt: skip
    assert served.limited_by == "server" and served.model_rps == pytest.approx(333.3, rel=1e-3)
    assert served.verdict == "consistent"  # 300/s found, within 15 % of cores / c
    mixed = [_row(1600, 1600), {**_row(3200, 900, lagged=True), "late_sends": 99},
             {**_row(2000, 1958, p50=0.126), "server_cpu_cores": 0.96}]  # fmt: skip
    found = model.assess("fastapi-async", None, 0.05, mixed, cost_s=0.0005, cores=1, client_limit_rps=5600)
    assert (found.limited_by, found.gave_out) == ("server", "the server's CPU (0.96 of 1 cores)")
    # a lag far below the client's own limit is the server's doing: its backlog held the client's connections
    backlog = [_row(2400, 2400), {**_row(5600, 4800, lagged=True), "server_cpu_cores": 0.97, "late_sends": 900}]
    found = model.assess("uvicorn-uvloop", None, 0.05, backlog, cost_s=0.0002, cores=1, client_limit_rps=11200)
    assert found.limited_by == "server" and found.gave_out.startswith("the server's CPU (0.97 of 1 cores)")
    assert "the client lagged at 5600/s, below 80% of its on-time limit" in found.gave_out
    near = model.assess("uvicorn-uvloop", None, 0.05, backlog, cost_s=0.0002, cores=1, client_limit_rps=6000)
    assert near.limited_by == "client"  # 5600/s is within 80 % of the client's limit: its own lag


def test_the_cost_per_request_is_taken_nearest_the_ceiling() -> None:
    rows = [{**_row(rate, rate), "server": "s", "server_cpu_per_request_s": cost}
            for rate, cost in ((100, 0.0011), (800, 0.0005), (1600, 0.0004))]  # fmt: skip
    rows.append({**_row(3200, 2600, p50=0.3), "server": "s", "server_cpu_per_request_s": 0.00038})
    assert cost_s(rows, None, 0.05) == 0.0004  # the fastest step kept up with, not the overloaded one
    assert cost_s(rows, 10, 0.05) == 0.0011  # k / D = 200: only steps at most 95 % of it


def test_a_server_without_a_step_is_listed_with_its_reason() -> None:
    steps = [Step("gunicorn-gevent", math.nan, status="no ladder", reason="no offered rate to run")]
    report = build(steps, settings={"delay_s": 0.05, "duration_s": 5, "warmup_s": 1}, environment={"cores": 2},
                   capacities={"gunicorn-gevent": 1000}, complete=True)  # fmt: skip
    assert [(c.server, c.reason) for c in report.capacity] == [("gunicorn-gevent", "no offered rate to run")]
