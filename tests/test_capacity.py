"""The capacity model on fixed points: predicted ratios, measured k, verdicts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness import capacity, sweep_report
from harness.catalog import CATALOG
from harness.sweep import ladder_for
from tests.sweep_helpers import fixed_sweep, not_run, point


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
