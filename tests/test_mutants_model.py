"""harness.load.model, exactly: the queueing formulas on known values and every verdict of
``assess`` with its reason, on the bounds (k = 4, D = 0.05 s: a ceiling of 80/s, 68-92/s
within 15 %), on the warm-up queue and Cosmetatos's M/D/k wait. Written for ``nox -s mutants`` (docs/mutants.md)."""

from __future__ import annotations

import math

import pytest

from harness.load.model import (
    CeilingResult,
    assess,
    ceiling_rps,
    erlang_b,
    erlang_c,
    gave_out,
    kept_up,
    predicted_latency_s,
    predicted_rps,
    wait_mdk_s,
)

LEFT_OUT = " (1 step(s) left out: the client lagged)"


def step(offered: float, achieved: object, lagged: bool = False) -> dict[str, object]:
    return {"offered_rps": offered, "achieved_rps": achieved, "client_lagged": lagged}


def test_erlang_c_known_values() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_c(4, 2.0) == pytest.approx(4 / 23)


QUEUE = "the server's 4 slot(s): requests queue"
LAGGED = "the client (late sends: None)"


def result(measured: float | None, verdict: str, reason: str, *, limited: str = "server", what: str = "",
           declared: int | None = 4) -> CeilingResult:  # fmt: skip
    ceiling = 80.0 if declared else math.inf
    model = 80.0 if declared else None
    return CeilingResult("s", declared, ceiling, measured, verdict, reason, model, None, limited, None, what)  # type: ignore[arg-type]


def test_ceilings() -> None:
    assert ceiling_rps(4, 0.04, 0.01) == pytest.approx(80.0)
    assert ceiling_rps(None, 0.05) == math.inf
    assert ceiling_rps(None, 0.05, 0.01) == math.inf  # cores unknown
    assert ceiling_rps(None, 0.05, 0.0, 2.0) == math.inf  # c unknown
    assert ceiling_rps(None, 0.05, 0.01, 2.0) == pytest.approx(200.0)
    assert predicted_rps(100, 4, 0.05) == 80.0
    assert predicted_rps(50, 4, 0.05) == 50
    assert predicted_rps(500, None, 0.05, 0.01, 2.0) == pytest.approx(200.0)


def test_erlang_b_and_the_m_d_k_wait() -> None:
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_b(0, 1.0) == 1.0
    assert erlang_c(2, 2.0) == 1.0 and erlang_c(2, 3.0) == 1.0
    assert wait_mdk_s(2, 0.0, 1.0) == 0.0 and wait_mdk_s(2, -1.0, 1.0) == 0.0
    assert wait_mdk_s(2, 2.0, 1.0) == math.inf
    # M/D/1 is exact: half of M/M/1's rho / (1 - rho) x S
    assert wait_mdk_s(1, 0.5, 2.0) == pytest.approx(0.5 * 2.0 / 0.5 / 2)
    # M/D/2 at a = 1: Wq(M/M/2) = 1/3 s, times (1 + f) / 2, f = 0.5 (sqrt(14) - 2) / 16
    f = 0.5 * (math.sqrt(14) - 2) / 16
    assert wait_mdk_s(2, 1.0, 1.0) == pytest.approx((1 / 3) * (1 + f) / 2)
    assert wait_mdk_s(2, 1.0, 2.0) == pytest.approx(2 * (1 / 3) * (1 + f) / 2)


def test_predicted_latency_on_and_below_the_ceiling() -> None:
    # at the ceiling the queue grows: with no warm-up and the median at T / 2, (lambda / mu - 1) = 0 there
    assert predicted_latency_s(40, 2, 0.05, poisson=True, duration_s=4) == 0.05
    f = 0.5 * (math.sqrt(14) - 2) / 16
    assert predicted_latency_s(1, 2, 1.0, poisson=True, duration_s=4) == pytest.approx(1 + (1 / 3) * (1 + f) / 2)
    assert predicted_latency_s(1, 2, 0.5, poisson=True, duration_s=4, cost_s=0.5) == pytest.approx(
        1 + (1 / 3) * (1 + f) / 2
    )
    assert predicted_latency_s(1, 2, 1.0, poisson=False, duration_s=4) == 1.0
    assert predicted_latency_s(1, None, 1.0, poisson=True, duration_s=4) == 1.0
    assert predicted_latency_s(120, 4, 0.05, poisson=False, duration_s=4) == pytest.approx(0.05 + 0.5 * 2)
    # the warm-up's queue is there already: (120 / 80 - 1) (W + T / 2)
    assert predicted_latency_s(120, 4, 0.05, poisson=False, duration_s=4, warmup_s=2) == pytest.approx(2.05)
    assert predicted_latency_s(120, 4, 0.05, poisson=False, duration_s=4, warmup_s=2, timeout_s=1.5) == 1.5
    assert predicted_latency_s(120, 4, 0.04, poisson=True, duration_s=4, cost_s=0.01) == pytest.approx(1.05)


def test_kept_up() -> None:
    assert kept_up({"offered_rps": 10, "achieved_rps": 9.0}, 0.05)
    assert not kept_up({"offered_rps": 10, "achieved_rps": 8.99}, 0.05)
    assert not kept_up({"offered_rps": 10, "achieved_rps": None}, 0.05)
    assert not kept_up({"offered_rps": 10}, 0.05)
    assert kept_up({"offered_rps": 10, "achieved_rps": 10.0, "p50_s": 0.1}, 0.05)
    assert not kept_up({"offered_rps": 10, "achieved_rps": 10.0, "p50_s": 0.1001}, 0.05)
    assert kept_up({"offered_rps": 10, "achieved_rps": 10.0, "p50_s": float("nan")}, 0.05)


def test_who_gave_out() -> None:
    assert gave_out({"client_lagged": True, "late_sends": 7}, 2.0) == ("client", "the client (late sends: 7)")
    assert gave_out({"client_cpu_cores": 0.9}, 2.0) == ("client", "the client's CPU (0.90 cores)")
    assert gave_out({"client_cpu_cores": 0.89, "server_cpu_cores": 1.6}, 2.0) == (
        "server", "the server's CPU (1.60 of 2 cores)"
    )  # fmt: skip
    assert gave_out({"server_cpu_cores": 1.59}, 2.0, 4) == ("server", "the server's 4 slot(s): requests queue")
    assert gave_out({"server_cpu_cores": 1.59}, None, 4)[1] == "the server's 4 slot(s): requests queue"
    assert gave_out({"server_cpu_cores": 1.59}, 2.0) == (
        "server", "the server (latency left D at 1.59 cores: its loop or workers lag)"
    )  # fmt: skip
    assert gave_out({}, 2.0) == ("server", "the server (latency left D)")


def test_assess_without_a_usable_step() -> None:
    steps = [step(10, 10.0, lagged=True), step(20, float("nan")), step(30, True), step(40, "40")]
    assert assess("s", 4, 0.05, steps) == result(
        None, "inconclusive", "no step measured without the client lagging", limited="", what=QUEUE
    )


def test_assess_an_unbounded_server() -> None:
    kept = assess("s", None, 0.05, [step(10, 9.0), step(20, 18.0), step(30, 1.0, lagged=True)])
    assert kept == result(18.0, "inconclusive", "client-limited at 18/s: kept up with every step up to 20/s"
                          + LEFT_OUT, limited="client", what=LAGGED, declared=None)  # fmt: skip
    alone = assess("s", None, 0.05, [step(10, 9.0), step(20, 18.0)])
    assert alone == result(18.0, "consistent", "kept up with every step up to 20/s", declared=None)
    behind = assess("s", None, 0.05, [step(10, 8.99), step(20, 1.0)])
    assert behind == result(8.99, "disagrees", "declared unbounded, but at 10/s only 9.0/s completed",
                            what="the server (latency left D)", declared=None)  # fmt: skip
    nothing = assess("s", None, 0.05, [step(10, 0.0), step(20, 1.0)])
    assert nothing.reason == "declared unbounded, but at 10/s only 0.0/s completed"


def test_assess_an_unbounded_server_against_cores_over_c() -> None:
    steps = [step(100, 100.0), step(200, 170.0)]
    near = assess("s", None, 0.05, steps, cost_s=0.01, cores=2.0)
    assert (near.verdict, near.model_rps, near.cost_s) == ("consistent", pytest.approx(200.0), 0.01)
    assert near.reason == (
        "tops out at 170.0/s where the server (latency left D) gave out; the model's cores / c = 200/s"
    )
    assert assess("s", None, 0.05, [step(100, 100.0), step(200, 169.9)], cost_s=0.01, cores=2.0).verdict == "disagrees"
    assert assess("s", None, 0.05, [step(200, 230.0), step(300, 230.0)], cost_s=0.01, cores=2.0).verdict == "consistent"
    assert assess("s", None, 0.05, [step(200, 230.1), step(300, 230.1)], cost_s=0.01, cores=2.0).verdict == "disagrees"
    # c measured but cores not: the model has no ceiling, the plain unbounded verdicts apply
    no_cores = assess("s", None, 0.05, steps, cost_s=0.01)
    assert no_cores.model_rps == math.inf and no_cores.verdict == "disagrees"
    # nothing gave out: the ladder's top
    kept = assess("s", None, 0.05, [step(100, 100.0)], cost_s=0.01, cores=2.0)
    assert kept.reason == "kept up with every step up to 100/s" and kept.verdict == "consistent"


def test_assess_a_client_limited_ceiling() -> None:
    steps = [step(40, 40.0), step(100, 92.0)]
    limited = assess("s", 4, 0.05, steps, client_limit_rps=115.0)
    assert (limited.limited_by, limited.client_limit_rps) == ("client", 115.0)
    assert limited.reason == ("client-limited at 92/s; the client's on-time limit 115/s: "
                              "tops out at 92.0/s, within 15% of k / D = 80/s")  # fmt: skip
    assert limited.gave_out == "the client (its on-time limit)"  # no step fell behind
    assert assess("s", 4, 0.05, steps, client_limit_rps=115.1).limited_by == "server"
    least = assess("s", 4, 0.05, steps, client_limit_rps=115.0, client_limit_reached=False)
    assert least.limited_by == "server"
    assert assess("s", 4, 0.05, steps, client_limit_rps=100.0, client_limit_reached=False).limited_by == "server"
    lagged = assess("s", 4, 0.05, [step(40, 40.0), step(100, 92.0, lagged=True)], client_limit_rps=50.0)
    assert lagged.reason.startswith("client-limited at 40/s; the client's on-time limit 50/s: ")
    assert lagged.gave_out == "the client (its on-time limit)"


def test_assess_within_tolerance() -> None:
    reached = assess("s", 4, 0.05, [step(40, 40.0), step(92.5, 92.0), step(200, 1.0, lagged=True)])
    assert reached == result(92.0, "consistent", "client-limited at 92/s: tops out at 92.0/s, within 15% of "
                             "k / D = 80/s" + LEFT_OUT, limited="client", what=LAGGED)  # fmt: skip
    alone = assess("s", 4, 0.05, [step(40, 40.0), step(92.5, 92.0)])
    assert alone == result(92.0, "consistent", "tops out at 92.0/s, within 15% of k / D = 80/s")
    low = assess("s", 4, 0.05, [step(92.5, 68.0)])
    assert low == result(68.0, "consistent", "tops out at 68.0/s, within 15% of k / D = 80/s", what=QUEUE)
    not_reached = assess("s", 4, 0.05, [step(92, 80.0)])  # 92/s is not more than 80/s + 15 %
    assert not_reached == result(80.0, "inconclusive", "80.0/s at most, but no step offered more than k / D = "
                                 "80/s + 15%, so the ceiling was not reached", what=QUEUE)  # fmt: skip


def test_assess_outside_tolerance() -> None:
    ladder_short = assess("s", 4, 0.05, [step(60, 60.0)])
    assert ladder_short == result(60.0, "inconclusive", "60.0/s at most; the ladder stops below k / D = 80/s")
    assert assess("s", 4, 0.05, [step(60, 67.9)]).verdict == "inconclusive"
    under = assess("s", 4, 0.05, [step(100, 67.9)])
    assert under == result(67.9, "disagrees", "tops out at 67.9/s, not k / D = 80/s (+-15%)", what=QUEUE)
    over = assess("s", 4, 0.05, [step(90, 92.1)])  # above the ceiling without any step above it: still wrong
    assert over == result(92.1, "disagrees", "tops out at 92.1/s, not k / D = 80/s (+-15%)")
