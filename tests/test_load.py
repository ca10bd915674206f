"""Sustained load: the queueing model, the verdicts, and a short real run."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import pytest

from harness.load import model
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
        assert top["p99_s"] > 2 * below["p99_s"], (below, top)  # above it: latency climbs
    for key in ("offered_rps", "achieved_rps", "p50_s", "p90_s", "p99_s", "max_s", "sent", "completed", "failed",
                "late_sends", "max_in_flight"):  # fmt: skip
        assert key in data["steps"][0]
    assert {c["server"] for c in data["capacity"]} == {"gunicorn-default", "gunicorn-threads5"}
    assert (tmp_path / "load-requests.csv").stat().st_size > 0
    assert (tmp_path / "pictures" / "load-throughput.png").exists()


def re_commit(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)
