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
from harness.core.errors import UsageError
from harness.core.paths import CACHE_DIR, GO_DIR, PYTHON_DIR, REPO
from harness.core.process import ManagedProcess
from harness.core.serving import running_server
from harness.locust.export import render_json, render_markdown
from harness.locust.report import build
from tests.conftest import assert_none_left, harness

needs_locust = pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                                  reason="locust is not installed (--group locust)")  # fmt: skip

D = 0.2
N = 5
USERS = 4
RUN_S = 5
MASTER_EXIT_S = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
@needs_locust
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
    # each user's last batch may be cut off by the end of the run: its answers counted, the batch not
    assert N * batch["count"] <= report["requests"][0]["count"] <= N * (batch["count"] + USERS)
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


STATS = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,\
Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/?client=A..B,4,1,500,600,500,1000.5,240,2.0,0.5,500,500,500,500,1000,1000,1000,1000,1000,1000,1000
BATCH,batch of 2,2,1,500,750,500,1000.5,0,1.0,0.5,500,1000,1000,1000,1000,1000,1000,1000,1000,1000,1000
,Aggregated,6,2,500,650,500,1000.5,160,3.0,1.0,500,500,1000,1000,1000,1000,1000,1000,1000,1000,1000
"""
FAILURES = """Method,Name,Error,Occurrences,First Seen,Last Seen
GET,/?client=A..B,status 503,1,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z
"""


def answer(batch: str, name: str, enter_s: float, exit_s: float, pid: int = 7, error: str | None = None) -> str:
    line = {"batch": batch, "name": name, "status": 200 if error is None else 503, "error": error, "sent_ns": 0,
            "recv_ns": 1, "pid": pid, "thread": f"t{name}", "enter_ns": int(enter_s * 1e9),
            "exit_ns": int(exit_s * 1e9), "batch_wall_s": exit_s - enter_s}  # fmt: skip
    return json.dumps(line) + "\n"


def test_report_from_locust_files(tmp_path: Path) -> None:
    (tmp_path / "run_stats.csv").write_text(STATS)
    (tmp_path / "run_failures.csv").write_text(FAILURES)
    (tmp_path / "run_stats_history.csv").write_text(
        "Timestamp,User Count,Type,Name\n100,0,,Aggregated\n103,2,,Aggregated\n"
    )
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "worker-h-1.jsonl").write_text(answer("h-1-a-1", "A", 0, 0.5) + answer("h-1-a-1", "B", 0, 0.5))
    (ev / "worker-h-2.jsonl").write_text(answer("h-2-b-1", "A", 1, 1.5) + answer("h-2-b-1", "B", 1, 1.5, error="x"))
    report = build(str(tmp_path / "run"), evidence_dir=ev, delay_s=None, clients=None, command="c",
                   environment={"harness": "0", "date": "d", "os": "o", "cpu_count": 2, "cpu_model": "m",
                                "load_average": [0], "python": "p", "go": "g", "packages": {}})  # fmt: skip
    assert report.settings["clients"] == 2 and report.settings["delay_s"] == 0.5  # N from the name, D from the holds
    (batch,) = report.batches
    assert (batch["median_ratio"], batch["p95_ratio"]) == (1.0, 2.0)  # the 50% and 95% columns
    assert [r["name"] for r in report.requests] == ["/?client=A..B"]  # not the BATCH rows, not Aggregated
    assert report.failures[0]["error"] == "status 503"
    assert report.history == {"duration_s": 3.0, "peak_users": 2, "samples": 2}
    e = report.evidence
    assert e is not None
    assert (e["workers"], e["answers"], e["failed_answers"], e["batches"]) == (2, 4, 1, 2)
    assert (e["max_in_flight"], e["batches_all_in_flight"], e["processes"], e["threads"]) == (2, 1, 1, 2)
    markdown = render_markdown(report)
    assert "| batch of 2 | 2" in markdown and "status 503" in markdown
    assert json.loads(render_json(report))["schema"] == "concurrency-compare/locust/1"


def test_report_needs_the_csv(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--csv"):
        build(str(tmp_path / "none"), evidence_dir=None, delay_s=0.5, clients=5, command="c", environment={})


@needs_locust
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--server", "nginx"], "unknown --server 'nginx'"),
        (["--users", "0"], "--users must be from 1 to"),
        (["--workers", "0"], "--workers must be from 1 to"),
        (["--delay", "99"], "--delay must be a number of seconds"),
    ],
)
def test_locust_run_refuses_bad_input_in_one_line(args: list[str], says: str, tmp_path: Path) -> None:
    proc = harness("locust-run", *args, "--out", str(tmp_path))
    assert proc.returncode == 2 and says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_relative_out_dir_is_anchored_where_the_command_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Locust runs with cwd=REPO: the CSV prefix and evidence folder must not follow it there."""
    from harness.locust.runner import LocustPlan

    monkeypatch.chdir(tmp_path)
    plan = LocustPlan(CATALOG.servers_by_name["go-nethttp"], 0.1, 5, 1, 5, 5, Path("staging/locust"))
    assert plan.prefix == tmp_path / "staging" / "locust" / "csv" / "run"
    assert plan.evidence_dir.is_absolute() and plan.evidence_dir.is_relative_to(tmp_path)
