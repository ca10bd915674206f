"""Fair clients and evidence-based verdicts, in real runs of the harness.

Each run is short (few servers, few batches); together they check what the unit
tests cannot: that ``--connections fresh`` really dials a connection per request,
that a D too small for a client is marked and refutes nothing, and that on one
usable core no claim about parallelism is confirmed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, assert_none_left, harness, harness_env

pytestmark = pytest.mark.integration

N = 5


def run(out: Path, *args: str, one_core: bool = False) -> dict[str, Any]:
    run_id = f"fair-{uuid.uuid4().hex[:8]}"
    argv = ["compare", *args, "--repeats", "2", "--out", str(out)]
    if one_core:
        proc = subprocess.run(
            [sys.executable, "-m", "harness", *argv],
            cwd=REPO,
            env=harness_env(run_id),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
        )
    else:
        proc = harness(*argv, run_id=run_id, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_none_left(run_id)
    return json.loads((out / "report.json").read_text())


def test_fresh_connections_dial_one_per_request(tmp_path: Path) -> None:
    report = run(tmp_path, "--connections", "fresh", "--delay", "0.1", "--servers", "go-nethttp,fastapi-async")
    for p in report["pairings"]:
        assert (p["connections"], p["new_connections"], p["server_closed"]) == ("fresh", N, False), p
    assert "opens a new connection for every request" in (tmp_path / "report.md").read_text()


def test_a_d_too_small_is_marked_and_refutes_nothing(tmp_path: Path) -> None:
    report = run(tmp_path, "--delay", "0.002", "--servers", "go-nethttp,gunicorn-threads5",
                 "--client-impls", "go-goroutines,httpx-async")  # fmt: skip
    small = {p["client"] for p in report["pairings"] if p["d_too_small"]}
    assert "httpx-async" in small, report["pairings"]
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert "refuted" not in verdicts.values(), report["claims"]
    assert verdicts["C1"] == "D too small" and verdicts["C9"] == "D too small", report["claims"]
    md = (tmp_path / "report.md").read_text()
    assert "D too small" in md and "use --delay" in md


def test_one_usable_core_confirms_no_parallelism(tmp_path: Path) -> None:
    report = run(tmp_path, "--work", "cpu", "--delay", "0.1", "--servers",
                 "go-nethttp,fastapi-def,fastapi-async,django-asgi-async", "--client-impls", "go-goroutines",
                 one_core=True)  # fmt: skip
    assert report["environment"]["cores"] == 1
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert verdicts["X1"] == verdicts["X5"] == "inconclusive (1 usable core)", report["claims"]
    # one at a time needs no second core; X2 names both async setups, so both ran
    assert verdicts["X2"] == "confirmed", report["claims"]
    for p in report["pairings"]:
        assert p["parallelism"] <= 1.15, p  # one core's worth, whatever the server
