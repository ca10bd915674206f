"""Where things are: the repository's folders, found from this file."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GO_DIR = REPO / "go"
PYTHON_DIR = REPO / "python"
CACHE_DIR = REPO / ".cache"
DEFAULT_OUT = REPO / "results"
