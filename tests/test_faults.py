"""Faults caused for real: the run reports them and goes on, and leaves nothing behind.

The faulty servers and clients come from ``tests/fixtures/faults.toml`` through
``--catalog``: a server that exits at start, one that never answers, one that dies
on its first request, ones that answer 500 or text; a client that crashes, one
that hangs, one that prints garbage, one killed by SIGKILL mid-run.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO, assert_none_left, harness, harness_env, processes_of_run

pytestmark = pytest.mark.integration

FAULTS = REPO / "tests" / "fixtures" / "faults.toml"
SERVERS = ["cannot-start", "exits-at-start", "never-ready", "dies-mid-batch", "answers-500", "answers-text"]
SERVERS += ["go-nethttp"]
CLIENTS = ["httpx-async", "crashes", "hangs", "prints-garbage", "killed-mid-batch"]


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict, Path, str]:
    out = tmp_path_factory.mktemp("faults")
    run_id = f"faults-{uuid.uuid4().hex[:8]}"
    proc = harness("compare", "--catalog", str(FAULTS), "--servers", ",".join(SERVERS), "--client-impls",
                   ",".join(CLIENTS), "--delay", "0.1", "--repeats", "1", "--out", str(out), run_id=run_id,
                   timeout=300)  # fmt: skip
    return proc, json.loads((out / "report.json").read_text()), out, run_id


def reason(report: dict, server: str, client: str) -> str:
    pairing = next(p for p in report["pairings"] if p["server"] == server and p["client"] == client)
    assert pairing["status"] == "failed", pairing
    return pairing["reason"]


def test_exit_status_says_some_pairings_failed(faulty_run) -> None:  # type: ignore[no-untyped-def]
    proc, report, _, _ = faulty_run
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "34 of 35 pairings failed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert report["status"] == "complete"  # every pairing was tried


def test_the_run_goes_on_past_faults(faulty_run) -> None:  # type: ignore[no-untyped-def]
    _, report, _, _ = faulty_run
    ok = [(p["server"], p["client"]) for p in report["pairings"] if p["status"] == "ok"]
    assert ok == [("go-nethttp", "httpx-async")]  # measured after every fault before it


@pytest.mark.parametrize("client", CLIENTS)
def test_server_that_cannot_start(faulty_run, client: str) -> None:  # type: ignore[no-untyped-def]
    text = reason(faulty_run[1], "cannot-start", client)
    assert "cannot-start: cannot start" in text and "No such file or directory" in text
    assert "check the command in the catalog" in text


@pytest.mark.parametrize("client", CLIENTS)
def test_server_exits_at_start(faulty_run, client: str) -> None:  # type: ignore[no-untyped-def]
    text = reason(faulty_run[1], "exits-at-start", client)
    assert "exits-at-start exited (status 3) before it was ready" in text
    assert "giving up at start, on purpose" in text  # the tail of its log is quoted


def test_server_never_ready(faulty_run) -> None:  # type: ignore[no-untyped-def]
    text = reason(faulty_run[1], "never-ready", "httpx-async")
    assert "never-ready was not ready within 2 s" in text
    assert "faulty server: mode silent" in text


@pytest.mark.parametrize("client", CLIENTS)
def test_server_dies_mid_batch(faulty_run, client: str) -> None:  # type: ignore[no-untyped-def]
    assert "dies-mid-batch died during a batch (status 7)" in reason(faulty_run[1], "dies-mid-batch", client)


@pytest.mark.parametrize(("server", "why"), [("answers-500", "HTTP status 500"), ("answers-text", "body is not JSON")])
def test_bad_answers(faulty_run, server: str, why: str) -> None:  # type: ignore[no-untyped-def]
    text = reason(faulty_run[1], server, "httpx-async")
    assert "10 request(s) failed" in text and why in text


@pytest.mark.parametrize(
    ("client", "why"),
    [
        ("crashes", "crashes exited (status 4) after 0 of 2 batches"),
        ("hangs", "hangs hung: no batch within its timeout of 2 s (batch 1 of 2); it was stopped"),
        ("prints-garbage", "prints-garbage printed a malformed batch line"),
        ("killed-mid-batch", "killed-mid-batch exited (killed by SIGKILL) after 1 of 2 batches"),
    ],
)
def test_client_faults(faulty_run, client: str, why: str) -> None:  # type: ignore[no-untyped-def]
    for server in ("answers-500", "go-nethttp"):
        assert why in reason(faulty_run[1], server, client)


def test_report_lists_failures(faulty_run) -> None:  # type: ignore[no-untyped-def]
    md = (faulty_run[2] / "report.md").read_text()
    assert "- `go-nethttp` x `crashes`: crashes exited (status 4) after 0 of 2 batches" in md
    assert "`faulty client: crashing on purpose`" in md
    assert "| go-nethttp     |" in md


def test_faults_leave_no_process(faulty_run) -> None:  # type: ignore[no-untyped-def]
    assert_none_left(faulty_run[3])


def listening_ports(run_id: str) -> set[int]:
    ports = set()
    for proc in processes_of_run(run_id):
        try:
            ports |= {c.laddr.port for c in proc.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            continue
    return ports


def port_is_free(port: int) -> bool:
    try:
        socket.create_server(("127.0.0.1", port)).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize(("sig", "status", "why"), [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_interrupted_compare_stops_everything_and_keeps_results(
    tmp_path: Path, sig: signal.Signals, status: int, why: str
) -> None:
    run_id = f"interrupt-{uuid.uuid4().hex[:8]}"
    servers = "go-nethttp,gunicorn-workers5,django-runserver"
    argv = [sys.executable, "-m", "harness", "compare", "--servers", servers, "--client-impls",
            "httpx-async,go-goroutines", "--delay", "0.5", "--repeats", "3", "--out", str(tmp_path)]  # fmt: skip
    with subprocess.Popen(argv, cwd=REPO, env=harness_env(run_id), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:  # fmt: skip
        try:
            # wait until the first server is done and gunicorn's five workers are serving
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                workers = [p for p in processes_of_run(run_id) if "-m gunicorn" in " ".join(p.cmdline())]
                if len(workers) == 6:  # the master and its five workers
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # mid-batch
            ports = listening_ports(run_id)
            assert ports, "gunicorn should be listening"
            proc.send_signal(sig)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == status, stderr[-2000:]
    assert "every process the harness started was stopped" in stderr
    assert_none_left(run_id)
    assert all(port_is_free(p) for p in ports)

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "partial"
    assert f"The run was interrupted ({why})." in report["notes"]
    statuses = {(p["server"], p["client"]): p["status"] for p in report["pairings"]}
    assert statuses[("go-nethttp", "httpx-async")] == "ok"  # measured before the interrupt, kept
    assert statuses[("django-runserver", "go-goroutines")] == "not measured"
    md = (tmp_path / "report.md").read_text()
    assert "> **Partial report.** The run was interrupted" in md
    assert "Not measured:" in md and "django-runserver x go-goroutines" in md
    raw = (tmp_path / "batches.jsonl").read_text().splitlines()
    assert len(raw) >= 8  # go-nethttp's two pairings, 4 batches each, flushed as they finished


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_harness_cleans_up_when_its_parent_is_killed(tmp_path: Path) -> None:
    """nox killed with SIGKILL: the harness gets SIGTERM from the kernel and stops its servers."""
    run_id = f"orphan-{uuid.uuid4().hex[:8]}"
    harness_argv = [sys.executable, "-m", "harness", "compare", "--servers", "gunicorn-workers5", "--client-impls",
                    "httpx-async", "--delay", "1", "--repeats", "20", "--out", str(tmp_path)]  # fmt: skip
    parent = f"import subprocess; subprocess.run({harness_argv!r})"
    with subprocess.Popen([sys.executable, "-c", parent], cwd=REPO, env=harness_env(run_id)) as wrapper:
        raw, deadline = tmp_path / "batches.jsonl", time.monotonic() + 60
        while time.monotonic() < deadline and not (raw.exists() and raw.read_text().strip()):
            time.sleep(0.2)  # until the first batch is in
        assert any("-m gunicorn" in " ".join(p.cmdline()) for p in processes_of_run(run_id))
        wrapper.kill()
    assert_none_left(run_id, wait_s=20)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "partial" and "The run was interrupted (SIGTERM)." in report["notes"]


@pytest.mark.parametrize("command", [["article"], ["serve", "go-nethttp"]])
def test_taken_port_is_one_line_and_starts_nothing(command: list[str]) -> None:
    run_id = f"port-{uuid.uuid4().hex[:8]}"
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        proc = harness(*command, "--port", str(port), run_id=run_id)
        assert processes_of_run(run_id) == []
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"port {port} on 127.0.0.1 is taken by pid" in lines[0]
    assert "pick another port with --port" in lines[0]


def test_article_prints_what_the_article_prints() -> None:
    proc = harness("article", "--port", "0", "--delay", "0.1")
    assert proc.returncode == 0, proc.stderr
    for name in "ABCDE":
        assert f"&{{world {name}}}" in proc.stdout
    assert "!! main took" in proc.stdout


@pytest.mark.skipif(not port_is_free(8000), reason="port 8000 is taken on this machine")
def test_article_on_port_8000_runs_the_verbatim_client() -> None:
    proc = harness("article", "--delay", "0.1")
    assert proc.returncode == 0, proc.stderr
    assert "the article's client, verbatim" in proc.stdout
    assert proc.stdout.count("&{world ") == 5 and "!! main took" in proc.stdout
