"""Users' own apps (``tests/fixtures/userapp``), served outside the harness as a user
would serve them (``uvicorn --workers 2``, ``gunicorn --threads 4``, a Go binary), but
through the harness's process owner so that every process is stopped with its children.

The middleware is found the way a user who copied ``concurrency_evidence.py`` next to
their app finds it: on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.core.childenv import child_env
from harness.core.process import ManagedProcess, run_command
from harness.core.readiness import port_from_log, wait_for
from tests.conftest import REPO

USERAPP = REPO / "tests" / "fixtures" / "userapp"
MIDDLEWARE = REPO / "middleware"
HOLD_S = 0.3
"""How long each endpoint of the apps holds a request (``USERAPP_HOLD_S``)."""

UVICORN_PORT = r"Uvicorn running on http://[^/\s]*:(\d+)"
GUNICORN_PORT = r"Listening at: http://[^/\s]*:(\d+)"
GO_PORT = r"listening on http://[^/\s]*:(\d+)"


@dataclass(frozen=True)
class Served:
    base: str
    """``http://127.0.0.1:PORT``, no trailing slash."""
    proc: ManagedProcess


@contextmanager
def serve(argv: list[str], *, name: str, port_pattern: str, log_dir: Path, probe_path: str,
          env: dict[str, str] | None = None) -> Iterator[Served]:  # fmt: skip
    """Start ``argv`` in ``USERAPP``, wait until ``probe_path`` gets any HTTP answer, stop it on exit."""
    extra = {"PYTHONPATH": f"{MIDDLEWARE}:{USERAPP}", "USERAPP_HOLD_S": str(HOLD_S), **(env or {})}
    proc = ManagedProcess(argv, name=name, log_path=log_dir / f"{name}.log", env=child_env(extra=extra), cwd=USERAPP)
    with proc:
        port = port_from_log(proc, re.compile(port_pattern), 30)
        base = f"http://127.0.0.1:{port}"

        def answered() -> bool | None:
            try:
                with httpx.Client(trust_env=False, timeout=5) as client:
                    client.get(base + probe_path)
                return True
            except httpx.HTTPError:
                return None

        wait_for(proc, 30, answered, "did not answer")
        yield Served(base, proc)


def uvicorn_workers(log_dir: Path, app: str = "fastapi_app:app") -> Any:
    argv = [sys.executable, "-m", "uvicorn", app, "--workers", "2", "--host", "127.0.0.1", "--port", "0"]
    return serve(argv, name="uvicorn-userapp", port_pattern=UVICORN_PORT, log_dir=log_dir, probe_path="/api/items/1")


def gunicorn_threads(log_dir: Path, *, middleware: bool = True) -> Any:
    argv = [sys.executable, "-m", "gunicorn", "-b", "127.0.0.1:0", "-w", "1", "--threads", "4", "userproject.wsgi"]
    env = {} if middleware else {"USERAPP_MIDDLEWARE": "off"}
    return serve(argv, name="gunicorn-userproject", port_pattern=GUNICORN_PORT, log_dir=log_dir,
                 probe_path="/reports/2024/", env=env)  # fmt: skip


def go_app(log_dir: Path) -> Any:
    binary = log_dir / "goapp"
    env = child_env(extra={"GOFLAGS": "-mod=mod"})
    code, output = run_command(["go", "build", "-o", str(binary), "."], name="go-build-goapp",
                               log_path=log_dir / "go-build.log", env=env, cwd=USERAPP / "goapp")  # fmt: skip
    assert code == 0, output
    return serve([str(binary), "-addr", "127.0.0.1:0", "-hold", f"{HOLD_S}s"], name="goapp", port_pattern=GO_PORT,
                 log_dir=log_dir, probe_path="/api/quote")  # fmt: skip


def report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text())
