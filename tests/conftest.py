"""Fixtures that run the real harness: one real comparison for the whole session."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_DELAY_S = 0.3


def harness_env(run_id: str) -> dict[str, str]:
    return {**os.environ, "HARNESS_RUN_ID": run_id, "PYTHONUNBUFFERED": "1"}


def harness(*args: str, run_id: str = "unit", timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        env=harness_env(run_id),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,
    )


def processes_of_run(run_id: str) -> list[psutil.Process]:
    """Live (non-zombie) processes whose environment carries this run's id."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get("HARNESS_RUN_ID") == run_id:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def assert_none_left(run_id: str, wait_s: float = 5.0) -> None:
    deadline = time.monotonic() + wait_s
    while (left := processes_of_run(run_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"left behind: {[(p.pid, p.cmdline()) for p in left]}"


@contextmanager
def harness_serve(server: str, delay_s: float, run_id: str) -> Iterator[str]:
    """``harness serve SERVER`` on 127.0.0.1 (any free port): its URL while it runs; then
    Ctrl-C, which must end it with status 0 and leave no process of the run behind."""
    argv = [sys.executable, "-m", "harness", "serve", server, "--port", "0", "--delay", f"{delay_s:g}"]
    with subprocess.Popen(
        argv, cwd=REPO, env=harness_env(run_id), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline()
            match = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", line)
            assert match, line + proc.stderr.read()
            yield match.group(1)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert_none_left(run_id)


@dataclass
class CompareRun:
    proc: subprocess.CompletedProcess[str]
    out: Path
    report: dict[str, Any]
    run_id: str

    def pairing(self, server: str, client: str) -> dict[str, Any]:
        return next(p for p in self.report["pairings"] if p["server"] == server and p["client"] == client)


@pytest.fixture(scope="session")
def compare_run(tmp_path_factory: pytest.TempPathFactory) -> CompareRun:
    """The whole default matrix, for real, with a short D and one counted batch."""
    out = tmp_path_factory.mktemp("compare")
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    proc = harness(
        "compare", "--delay", str(TEST_DELAY_S), "--repeats", "1", "--out", str(out), run_id=run_id, timeout=900
    )
    assert (out / "report.json").exists(), proc.stderr
    return CompareRun(proc, out, json.loads((out / "report.json").read_text()), run_id)


HOLD_S = 0.1
"""How long the plain target (``plain_url``) holds each request."""


class Plain(BaseHTTPRequestHandler):
    """The article's answer and nothing else: no evidence fields, no client echoed back."""

    body: ClassVar[dict[str, object]] = {"hello": "world"}

    def do_GET(self) -> None:
        time.sleep(HOLD_S)
        data = json.dumps(self.body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def plain_url() -> Iterator[str]:
    yield from serve_in_thread(Plain)


def serve_in_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A stdlib HTTP server on loopback in a daemon thread, for a fixture to yield from: its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
