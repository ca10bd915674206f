"""Where things are: the repository's folders, found from this file.

``CACHE_DIR`` (``.cache/``) holds the Go binaries and the interpreters' virtualenvs
(``interpreters/TAG``); ``HARNESS_CACHE_DIR`` moves it elsewhere, and the bench
points it at an empty folder to time a cold run.

``compare``, ``sweep`` and ``bench`` write to ``runs/COMMAND/`` unless given ``--out``:
a scratch folder git ignores, so a quick run never overwrites the published results,
which are written on purpose with ``--out results`` (or ``results/cpu``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GO_DIR = REPO / "go"
PYTHON_DIR = REPO / "python"
CACHE_DIR = Path(os.environ.get("HARNESS_CACHE_DIR") or REPO / ".cache")
DEFAULT_OUT = REPO / "runs"  # scratch, git-ignored


def default_out(command: str) -> Path:
    """Where ``command`` writes when not given ``--out``: runs/COMMAND."""
    return DEFAULT_OUT / command
