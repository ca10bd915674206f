"""Scratch runs apart from the published results: the default --out is git-ignored."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from harness.cli.main import parser
from harness.core.paths import DEFAULT_OUT, REPO

PUBLISHED = REPO / "results"


@pytest.mark.parametrize("command", ["compare", "sweep", "bench"])
def test_default_out_is_scratch_not_the_published_results(command: str) -> None:
    out = parser().parse_args([command]).out
    assert out == str(DEFAULT_OUT / command)
    assert not DEFAULT_OUT.resolve().is_relative_to(PUBLISHED.resolve())


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs git and a checkout")
@pytest.mark.parametrize("command", ["compare", "sweep", "bench"])
def test_default_out_is_git_ignored(command: str) -> None:
    path = DEFAULT_OUT / command / "report.md"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO, check=False)
    assert ignored.returncode == 0, f"{path.relative_to(REPO)} is not git-ignored"
    published = subprocess.run(["git", "check-ignore", "-q", str(PUBLISHED / "report.md")], cwd=REPO, check=False)
    assert published.returncode == 1, "results/report.md must stay tracked"
