"""The environment a run was measured in, captured with every report.

Ratios from two machines are only comparable when the reader can see what each
ran on: OS, cores, CPU model, load, Python, Go and the server packages' versions.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.paths import REPO
from harness.process import run_command

PACKAGES = ("fastapi", "starlette", "anyio", "uvicorn", "django", "gunicorn", "httpx", "pandas", "tabulate", "psutil")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def usable_cores() -> int:
    """Cores this process may run on (its affinity), which is what parallelism gets."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def _git_commit(log_path: Path) -> str:
    try:
        code, out = run_command(["git", "rev-parse", "--short", "HEAD"], name="git", log_path=log_path,
                                env=os.environ, cwd=REPO, timeout_s=10)  # fmt: skip
    except (HarnessError, TimeoutError):
        return "unknown"
    return out.strip() if code == 0 and out.strip() else "unknown"


def environment(*, go_version: str | None, log_path: Path) -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "os": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cores": usable_cores(),
        "cpu_model": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "go": go_version or "not used",
        "packages": {p: _version(p) for p in PACKAGES},
        "harness": __version__,
        "commit": _git_commit(log_path),
    }
