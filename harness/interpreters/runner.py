"""One environment per interpreter, and the comparison's Python side run in each.

For each interpreter: a virtualenv in the harness's cache, ``.cache/interpreters/TAG``
(``CACHE_DIR``; not under ``.nox/``, which is nox's to delete), made with uv when it
is there, else with the interpreter's own venv and pip; the runtime
packages at the pinned versions of ``constraints.txt``, then ``python -m harness
compare`` run by that interpreter on the Python servers and clients, once waiting
and once computing. Free-threaded builds run with ``PYTHON_GIL=0`` so that no
extension can turn the GIL back on unnoticed (the handlers record it either way).
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.core.childenv import child_env
from harness.core.errors import HarnessError
from harness.core.paths import CACHE_DIR, REPO
from harness.core.process import run_command
from harness.interpreters.discover import Interpreter

ENVS = CACHE_DIR / "interpreters"
CONSTRAINTS = REPO / "constraints.txt"
INSTALL_TIMEOUT_S = 900.0
RUN_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class Outcome:
    interpreter: Interpreter
    work: str
    out_dir: Path
    status: int
    """The compare run's exit status (0: every pairing measured)."""
    note: str = ""


def runtime_packages() -> list[str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["project"]["dependencies"])


def _uv() -> list[str] | None:
    if exe := shutil.which("uv"):
        return [exe]
    try:
        import uv  # noqa: F401

        return [sys.executable, "-m", "uv"]
    except ImportError:
        return None


def make_env(interp: Interpreter, log_dir: Path) -> Path:
    """The interpreter's virtualenv with the runtime packages installed; its python."""
    env_dir = ENVS / interp.tag
    python = env_dir / "bin" / "python"
    env = child_env(delay_s=0.1)
    uv = _uv()
    steps: list[list[str]]
    constraints = ["-c", str(CONSTRAINTS)] if CONSTRAINTS.exists() else []
    if uv:
        steps = [[*uv, "venv", "--allow-existing", "--python", interp.path, str(env_dir)],
                 [*uv, "pip", "install", "--python", str(python), *constraints, *runtime_packages()]]  # fmt: skip
    else:
        steps = [[interp.path, "-m", "venv", str(env_dir)],
                 [str(python), "-m", "pip", "install", "--quiet", *constraints, *runtime_packages()]]  # fmt: skip
    for argv in steps:
        code, out = run_command(argv, name=f"env-{interp.tag}", log_path=log_dir / f"env-{interp.tag}.log", env=env,
                                cwd=REPO, timeout_s=INSTALL_TIMEOUT_S)  # fmt: skip
        if code != 0:
            last = out.strip().splitlines()[-1] if out.strip() else f"status {code}"
            raise HarnessError(f"{interp.label}: installing its environment failed: {last}")
    return python


def run_compare(python: Path, interp: Interpreter, compare_args: list[str], out_dir: Path, log_dir: Path,
                say: Callable[[str], None]) -> int:  # fmt: skip
    env = child_env(delay_s=0.1) | {"PATH": os.environ.get("PATH", "")}
    if interp.free_threaded:
        env["PYTHON_GIL"] = "0"
    argv = [str(python), "-m", "harness", "compare", *compare_args, "--out", str(out_dir)]
    code, out = run_command(argv, name=f"compare-{interp.tag}", log_path=log_dir / f"compare-{interp.tag}.log",
                            env=env, cwd=REPO, timeout_s=RUN_TIMEOUT_S)  # fmt: skip
    tail = [line for line in out.strip().splitlines() if line.startswith(("report:", "error:"))]
    say(f"  {' '.join(tail) or f'status {code}'}")
    return code
