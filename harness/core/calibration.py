"""Calibrate the CPU work once per run, before any server starts.

``--work cpu`` makes every handler compute for about D instead of waiting. The
loop is the same in Go and Python, but runs at very different speeds, so each
language gets its own count of rounds, measured here on an idle core (servers
calibrating themselves would race each other: five gunicorn workers, two cores).
The counts reach the servers through ``HARNESS_CPU_ITERATIONS`` (Python) and
``-cpu-iterations`` (Go), and the report shows them with the time one call took.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.core.childenv import child_env
from harness.core.errors import HarnessError
from harness.core.gobuild import GoBuild
from harness.core.paths import PYTHON_DIR
from harness.core.process import describe_exit, run_command

WORK_KINDS = ("wait", "cpu")


@dataclass(frozen=True)
class Calibration:
    """Rounds of the CPU loop that take D on one core, per language."""

    delay_s: float
    python_iterations: int
    python_call_s: float
    go_iterations: int = 0
    go_call_s: float = 0.0

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _measure(argv: list[str], *, name: str, log_dir: Path, env: dict[str, str]) -> tuple[int, float]:
    code, out = run_command(argv, name=name, log_path=log_dir / f"calibrate-{name}.log", env=env, cwd=PYTHON_DIR,
                            timeout_s=120)  # fmt: skip
    try:
        data = json.loads(out.strip().splitlines()[-1])
        return int(data["iterations"]), float(data["seconds"])
    except (ValueError, KeyError, IndexError) as exc:
        raise HarnessError(
            f"calibrating the {name} CPU work failed ({describe_exit(code)}): {out.strip()[:300]}"
        ) from exc


def calibrate(delay_s: float, *, go: GoBuild | None, log_dir: Path) -> Calibration:
    env = child_env(delay_s=delay_s, work="cpu")
    py = _measure([sys.executable, "work.py", "--calibrate", repr(delay_s)], name="python", log_dir=log_dir, env=env)
    gov = (0, 0.0)
    if go is not None:
        gov = _measure([str(go.binaries["server"]), "-calibrate", f"{delay_s}s"], name="go", log_dir=log_dir, env=env)
    return Calibration(delay_s, py[0], py[1], gov[0], gov[1])
