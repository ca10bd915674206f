"""The environment a run was measured in, captured with every report.

Ratios from two machines are only comparable when the reader can see what each
ran on: OS, cores, CPU model, load, Python, Go and the server packages' versions.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import sysconfig
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import __version__
from harness.core.errors import HarnessError
from harness.core.paths import REPO
from harness.core.process import run_command

PACKAGES = (
    "fastapi", "starlette", "anyio", "uvicorn", "uvicorn-worker", "django", "gunicorn", "gevent", "granian",
    "hypercorn", "uvloop", "httptools", "httpx", "httpcore", "pandas", "tabulate", "psutil",
)  # fmt: skip


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
    """Cores this process's children may use at once: its CPU affinity, capped by a
    cgroup CPU quota (``cpu.max``), which ``taskset`` and containers set."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota is not None else cores


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in cores (cgroup v2 ``cpu.max``, or v1
    ``cpu.cfs_quota_us``), or ``None`` when there is none."""
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    found: list[float] = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2: walk from this cgroup up to the root; every level may cap
            here = root / path.lstrip("/")
            while True:
                found += _v2_quota(here / "cpu.max")
                if here == root or root not in here.parents:
                    break
                here = here.parent
        elif "cpu" in controllers.split(","):
            found += _v1_quota(root / controllers / path.lstrip("/"))
    return min(found) if found else None


def _v2_quota(path: Path) -> list[float]:
    try:
        quota, period = path.read_text(encoding="utf-8").split()[:2]
    except (OSError, ValueError):
        return []
    return [] if quota == "max" else [int(quota) / int(period)]


def _v1_quota(folder: Path) -> list[float]:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text(encoding="utf-8"))
        period = int((folder / "cpu.cfs_period_us").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [] if quota <= 0 else [quota / period]


CODE_PATHS = ("harness", "go", "python", "pyproject.toml", "noxfile.py")
"""What makes the measurements: a run is *dirty* when any of these has uncommitted
changes. ``results/`` and the docs are left out: runs and ``publish`` write them."""


def _git(args: list[str], log_path: Path) -> str | None:
    try:
        code, out = run_command(["git", *args], name="git", log_path=log_path, env=os.environ, cwd=REPO,
                                timeout_s=10)  # fmt: skip
    except (HarnessError, TimeoutError):
        return None
    return out if code == 0 else None


def provenance(command: str, log_path: Path) -> dict[str, Any]:
    """Which code made a report: the commit (40 hex digits, or "unknown" outside a git
    checkout), whether the code had uncommitted changes, the command line, and when."""
    commit = (_git(["rev-parse", "HEAD"], log_path) or "").strip()
    status = _git(["status", "--porcelain", "--", *CODE_PATHS], log_path)
    return {
        "commit": commit if len(commit) == 40 else "unknown",
        "dirty": None if status is None else bool(status.strip()),
        "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def environment(*, go_version: str | None, log_path: Path, command: str = "") -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "os": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cores": usable_cores(),
        "cpu_model": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "go": go_version or "not used",
        "packages": {p: _version(p) for p in PACKAGES},
        "harness": __version__,
        "provenance": provenance(command, log_path),
    }
