"""Where things are: the repository's folders, found from this file.

``HARNESS_CACHE_DIR`` moves the build cache (the Go binaries) elsewhere; the bench
points it at an empty folder to time a cold run.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GO_DIR = REPO / "go"
PYTHON_DIR = REPO / "python"
CACHE_DIR = Path(os.environ.get("HARNESS_CACHE_DIR") or REPO / ".cache")
DEFAULT_OUT = REPO / "results"
