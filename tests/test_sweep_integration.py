"""A short real sweep: a bounded, an unbounded and a serial server, started for real.

Small ladder (1, 2, 5, 10, 20), D = 0.2 s, a budget of 1.5 s so the serial server
runs out of it at N = 10 and N = 20 is not run. Verdicts come from ratios with the
model's own wide threshold (1.5x for "at once", against 2x for N = k+1); no test
asserts an absolute time. About 35 s on two busy cores.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import assert_none_left, harness

pytestmark = pytest.mark.integration

SERVERS = {"gunicorn-threads5": 5, "go-nethttp": None, "gunicorn-default": 1}
LADDER = (1, 2, 5, 10, 20)
DELAY_S = 0.2
BUDGET_S = 1.5


@dataclass
class SweepRun:
    returncode: int
    stderr: str
    out: Path
    data: dict[str, Any]
    run_id: str

    def points(self, server: str) -> dict[int, dict[str, Any]]:
        return {p["clients"]: p for p in self.data["points"] if p["server"] == server}


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory: pytest.TempPathFactory) -> SweepRun:
    out = tmp_path_factory.mktemp("sweep")
    run_id = f"sweep-{uuid.uuid4().hex[:8]}"
    proc = harness(
        "sweep",
        "--servers",
        ",".join(SERVERS),
        "--ladder",
        ",".join(map(str, LADDER)),
        "--delay",
        str(DELAY_S),
        "--budget",
        str(BUDGET_S),
        "--out",
        str(out),
        run_id=run_id,
        timeout=300,
    )
    assert (out / "sweep.json").exists(), proc.stderr
    return SweepRun(proc.returncode, proc.stderr, out, json.loads((out / "sweep.json").read_text()), run_id)


def test_sweep_completes_and_stops_everything(sweep_run: SweepRun) -> None:
    assert sweep_run.returncode == 0, sweep_run.stderr[-2000:]
    assert sweep_run.data["status"] == "complete"
    for name in ("sweep.md", "sweep.json", "sweep.csv", "sweep-requests.csv"):
        assert (sweep_run.out / name).stat().st_size > 0
    assert_none_left(sweep_run.run_id)


def test_capacity_verdicts(sweep_run: SweepRun) -> None:
    found = {c["server"]: (c["declared"], c["measured"], c["verdict"]) for c in sweep_run.data["capacity"]}
    assert found == {
        "gunicorn-threads5": (5, 5, "consistent"),
        "go-nethttp": (None, 20, "consistent"),
        "gunicorn-default": (1, 1, "consistent"),
    }, sweep_run.data["capacity"]


def test_points_follow_the_model(sweep_run: SweepRun) -> None:
    threads5 = sweep_run.points("gunicorn-threads5")
    assert sorted(threads5) == [1, 2, 5, 6, 10, 20]  # the ladder + the probe points k, k+1
    assert threads5[5]["ratio"] <= 1.5 and threads5[5]["max_in_flight"] == 5
    assert 1.6 <= threads5[6]["ratio"] <= 2.6 and threads5[6]["predicted_ratio"] == 2
    assert threads5[20]["max_in_flight"] == 5 and threads5[20]["processes"] == 1
    go = sweep_run.points("go-nethttp")
    assert all(p["ratio"] <= 1.5 and p["max_in_flight"] == n for n, p in go.items())
    serial = sweep_run.points("gunicorn-default")
    assert serial[5]["ratio"] >= 4.4 and serial[5]["max_in_flight"] == 1
    assert serial[10]["status"] == "over budget" and serial[10]["failed"] > 0  # 10 x 0.2 s > 1.5 s
    assert serial[20]["status"] == "not run" and serial[20]["reason"] == "not run: exceeded the budget at N=10"
    assert serial[20]["ratio"] is None  # never invented
    for p in sweep_run.data["points"]:
        if p["status"] != "not run":
            assert p["peak_rss_bytes"] > 0 and p["peak_threads"] >= 1, p


def test_raw_requests_are_kept(sweep_run: SweepRun) -> None:
    requests = pd.read_csv(sweep_run.out / "sweep-requests.csv")
    counted = requests[~requests["warmup"]]
    measured = [p for p in sweep_run.data["points"] if p["status"] in ("ok", "over budget")]
    # a re-measured miss keeps both batches' requests: the first one's too
    again = [p for p in measured if p.get("remeasured")]
    assert {p["server"] for p in again} == {"gunicorn-threads5", "gunicorn-default"}  # their first miss, k+1
    assert len(counted) == sum(p["clients"] for p in measured) + sum(p["clients"] for p in again)
    assert len(requests) - len(counted) == 5 * len(SERVERS)  # one warm-up batch of 5 per server


def test_pictures_exist_and_show_every_request(sweep_run: SweepRun) -> None:
    pictures = sweep_run.data["pictures"]
    assert {p["kind"] for p in pictures} == {"sweep", "resources", "timeline"}
    assert sorted(p["key"] for p in pictures if p["kind"] == "timeline") == sorted(SERVERS)
    requests = pd.read_csv(sweep_run.out / "sweep-requests.csv")
    md = (sweep_run.out / "sweep.md").read_text()
    for p in pictures:
        assert (sweep_run.out / p["png"]).stat().st_size > 0
        svg = (sweep_run.out / p["svg"]).read_text()
        assert f"]({p['png']})" in md
        if p["kind"] == "timeline":
            n = int(re.search(r"N = (\d+) at once", p["title"]).group(1))  # type: ignore[union-attr]
            batch = requests[(requests["server"] == p["key"]) & (requests["clients"] == n) & ~requests["warmup"]]
            served = batch[batch["enter_ns"].notna()]
            assert len(re.findall(r'id="request-', svg)) == p["marks"] == len(served) == n
        else:
            servers = [s for s in SERVERS if s in p["title"]]
            measured = [q for q in sweep_run.data["points"] if q["server"] in servers and q["ratio"] is not None]
            assert len(re.findall(r'id="point-', svg)) == p["marks"] == len(measured)
