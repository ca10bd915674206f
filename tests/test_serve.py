"""``harness serve``: one real server in the foreground, stopped cleanly by Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.conftest import REPO, assert_none_left, harness_env, processes_of_run

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("server", ["go-nethttp", "django-runserver", "gunicorn-workers5"])
def test_serve_answers_and_stops_on_ctrl_c(server: str) -> None:
    run_id = f"serve-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, "-m", "harness", "serve", server, "--port", "0", "--delay", "0.05"]
    with subprocess.Popen(
        argv, cwd=REPO, env=harness_env(run_id), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline()
            match = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", line)
            assert match, line + proc.stderr.read()
            body = httpx.get(match.group(1), params={"client": "A"}, trust_env=False, timeout=10).json()
            assert (body["hello"], body["client"]) == ("world", "A")
            assert processes_of_run(run_id)  # the server runs under this run's id
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert_none_left(run_id)
