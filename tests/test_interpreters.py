"""The interpreter as an axis: discovery, skipping with a reason, and one real run."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from harness.interpreters.discover import discover
from tests.conftest import assert_none_left, harness


def test_an_interpreter_that_cannot_run_is_skipped_with_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "python3.12"
    fake.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    fake.chmod(0o755)
    found, skipped = discover((str(fake), sys.executable), tmp_path, discovery=False)
    assert [i.version[:2] for i in found] == [sys.version_info[:2]]
    assert skipped == [f"{fake}: pyenv: python3.12: command not found"]


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_pyenv_versions_are_found_where_the_shims_fail(tmp_path: Path, version: str) -> None:
    root = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser()
    if not list(root.glob(f"versions/{version}.*/bin/python{version}")):
        pytest.skip(f"no CPython {version} under {root}/versions on this machine")
    found, _ = discover((), tmp_path)
    assert version in {i.tag for i in found}


@pytest.mark.integration
def test_one_interpreter_end_to_end(tmp_path: Path) -> None:
    run_id = f"interp-{uuid.uuid4().hex[:8]}"
    proc = harness("interpreters", "--no-discovery", "--python", sys.executable, "--work", "wait", "--quick",
                   "--servers", "fastapi-async", "--client-impls", "httpx-async", "--out", str(tmp_path),
                   run_id=run_id, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_none_left(run_id)
    rows = json.loads((tmp_path / "interpreters.json").read_text())
    assert isinstance(rows, list) and rows
    row = rows[0]
    assert {"python", "gil_enabled", "server", "client", "work", "ratio_median", "verdict"} <= set(row)
    assert (row["server"], row["work"], row["verdict"], row["gil_enabled"]) == ("fastapi-async", "wait",
                                                                                "concurrent", True)  # fmt: skip
    assert "## Waiting handlers" in (tmp_path / "interpreters.md").read_text()
