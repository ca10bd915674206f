"""Locust's distributed mode on this machine: one master and two workers on loopback run
python/locustfile.py against the real Go server, then ``locust-report`` turns what they
left behind into tables. Skipped when Locust is not installed (``--group locust``)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import uuid
from pathlib import Path

import pytest

from harness.core import gobuild
from harness.core.catalog import CATALOG
from harness.core.paths import CACHE_DIR, GO_DIR, PYTHON_DIR, REPO
from harness.core.process import ManagedProcess
from harness.core.serving import running_server
from tests.conftest import assert_none_left, harness

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="locust is not installed (--group locust)"),
]

D = 0.2
N = 5
USERS = 4
RUN_S = 5
MASTER_EXIT_S = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_master_and_two_workers_on_loopback(tmp_path: Path) -> None:
    go = gobuild.build(GO_DIR, CACHE_DIR / "go")
    run_id = f"test-locust-{uuid.uuid4().hex[:8]}"
    evidence = tmp_path / "evidence"
    prefix = tmp_path / "csv" / "run"
    port = str(free_port())
    env = {**os.environ, "HARNESS_RUN_ID": run_id, "HARNESS_BATCH_CLIENTS": str(N),
           "HARNESS_EVIDENCE_DIR": str(evidence), "PYTHONUNBUFFERED": "1"}  # fmt: skip
    locust = [sys.executable, "-m", "locust", "-f", str(PYTHON_DIR / "locustfile.py")]
    logs = tmp_path / "logs"
    spec = CATALOG.servers_by_name["go-nethttp"]
    with running_server(spec, delay_s=D, logs_dir=logs, go=go) as server:
        master = ManagedProcess(
            [*locust, "--headless", "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
             "--expect-workers", "2", "-u", str(USERS), "-r", str(USERS), "-t", f"{RUN_S}s", "--csv", str(prefix),
             "--host", server.url.rstrip("/"), "--only-summary"],
            name="locust-master", log_path=logs / "master.log", env=env, cwd=REPO, grace_s=2,
        )  # fmt: skip
        worker = [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", port]
        workers = [
            ManagedProcess(worker, name=f"worker-{i}", log_path=logs / f"worker-{i}.log", env=env, cwd=REPO, grace_s=2)
            for i in range(2)
        ]
        with master, workers[0], workers[1]:
            code = master.wait(MASTER_EXIT_S)
            assert code == 0, master.log_tail()
            for w in workers:  # a worker quits when its master does
                w.wait(10)
    for proc in (master, *workers):
        assert proc.poll() is not None
    assert_none_left(run_id)

    out = tmp_path / "report"
    done = harness("locust-report", "--csv", str(prefix), "--evidence", str(evidence), "--delay", str(D),
                   "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "locust.json").read_text())
    markdown = (out / "locust.md").read_text()
    print(markdown)

    batch = next(r for r in report["batches"] if r["name"] == f"batch of {N}")
    assert batch["count"] > 0 and batch["failures"] == 0
    assert 0.9 <= batch["median_ratio"] < 2  # Go's net/http holds the batch at once: ~1 x D
    assert [r["failures"] for r in report["requests"]] == [0]
    assert report["requests"][0]["count"] == N * batch["count"]
    assert report["failures"] == []
    found = report["evidence"]
    assert len(found["files"]) == 2 and found["workers"] == 2
    assert found["batches"] == batch["count"]  # the final CSV counts every batch the workers recorded
    assert found["failed_answers"] == 0
    assert found["max_in_flight"] >= N
    assert found["batch_in_flight_median"] == N
    assert found["processes"] == 1
    assert "## Batches" in markdown and f"| batch of {N}" in markdown
    assert "## The server's evidence" in markdown
