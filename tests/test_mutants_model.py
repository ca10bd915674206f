"""harness.load.model, exactly: the queueing formulas on known values and every verdict of
``assess`` with its reason, on the bounds (k = 4, D = 0.05 s: a ceiling of 80/s, 68-92/s
within 15 %). Written for ``nox -s mutants`` (docs/mutants.md)."""

from __future__ import annotations

import pytest

from harness.load.model import CeilingResult, assess, erlang_c, predicted_latency_s

LEFT_OUT = " (1 step(s) left out: the client lagged)"


def step(offered: float, achieved: object, lagged: bool = False) -> dict[str, object]:
    return {"offered_rps": offered, "achieved_rps": achieved, "client_lagged": lagged}


def test_erlang_c_known_values() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_c(4, 2.0) == pytest.approx(4 / 23)


def test_predicted_latency_on_and_below_the_ceiling() -> None:
    # at the ceiling no queue is predicted (M/M/k's wait would be infinite there)
    assert predicted_latency_s(40, 2, 0.05, poisson=True, duration_s=4) == 0.05
    # M/D/2 at a = 1: Wq(M/M/2) = (1/3) / (2 - 1) s; half of it
    assert predicted_latency_s(1, 2, 1.0, poisson=True, duration_s=4) == pytest.approx(1 + 1 / 6)
    assert predicted_latency_s(1, None, 1.0, poisson=True, duration_s=4) == 1.0
    assert predicted_latency_s(120, 4, 0.05, poisson=False, duration_s=4) == pytest.approx(0.05 + 0.5 * 2)


def test_assess_without_a_usable_step() -> None:
    steps = [step(10, 10.0, lagged=True), step(20, float("nan")), step(30, True), step(40, "40")]
    assert assess("s", 4, 0.05, steps) == CeilingResult(
        "s", 4, 80.0, None, "inconclusive", "no step measured without the client lagging"
    )


def test_assess_an_unbounded_server() -> None:
    kept = assess("s", None, 0.05, [step(10, 9.0), step(20, 18.0), step(30, 1.0, lagged=True)])
    assert kept == CeilingResult(
        "s", None, float("inf"), 18.0, "consistent", "kept up with every step up to 20/s" + LEFT_OUT
    )
    behind = assess("s", None, 0.05, [step(10, 8.99), step(20, 1.0)])
    assert behind.verdict == "disagrees"
    assert behind.reason == "declared unbounded, but at 10/s only 9.0/s completed"


def test_assess_within_tolerance() -> None:
    reached = assess("s", 4, 0.05, [step(40, 40.0), step(92.5, 92.0), step(200, 1.0, lagged=True)])
    assert reached == CeilingResult(
        "s", 4, 80.0, 92.0, "consistent", "tops out at 92.0/s, within 15% of k / D = 80/s" + LEFT_OUT
    )
    low = assess("s", 4, 0.05, [step(92.5, 68.0)])
    assert low.verdict == "consistent"
    not_reached = assess("s", 4, 0.05, [step(92, 80.0)])  # 92/s is not more than 80/s + 15 %
    assert not_reached == CeilingResult("s", 4, 80.0, 80.0, "inconclusive",
                                        "80.0/s at most, but no step offered more than k / D = 80/s + 15%, "
                                        "so the ceiling was not reached")  # fmt: skip


def test_assess_outside_tolerance() -> None:
    ladder_short = assess("s", 4, 0.05, [step(60, 60.0)])
    assert ladder_short == CeilingResult(
        "s", 4, 80.0, 60.0, "inconclusive", "60.0/s at most; the ladder stops below k / D = 80/s"
    )
    assert assess("s", 4, 0.05, [step(60, 67.9)]).verdict == "inconclusive"
    under = assess("s", 4, 0.05, [step(100, 67.9)])
    assert under == CeilingResult("s", 4, 80.0, 67.9, "disagrees", "tops out at 67.9/s, not k / D = 80/s (+-15%)")
    over = assess("s", 4, 0.05, [step(90, 92.1)])  # above the ceiling without any step above it: still wrong
    assert over.verdict == "disagrees"
