"""The run session: records on disk at once, and reports written in order, also in the background."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harness.core.session import RunSession


def session(tmp_path: Path) -> RunSession:
    return RunSession(tmp_path, {"command": "test"}, {})


def test_a_background_checkpoint_is_written_and_settled(tmp_path: Path) -> None:
    run = session(tmp_path)
    started, release = threading.Event(), threading.Event()

    def write() -> None:
        started.set()
        release.wait(5)
        (tmp_path / "report.md").write_text("checkpoint")

    run.checkpoint_in_background(write)
    assert started.wait(5)
    assert not (tmp_path / "report.md").exists()  # the caller went on while it was written
    release.set()
    run.settle()
    assert (tmp_path / "report.md").read_text() == "checkpoint"
    assert "duration_s" in run.settings
    run.close()


def test_a_failed_background_write_is_raised_where_it_settles(tmp_path: Path) -> None:
    run = session(tmp_path)

    def write() -> None:
        raise OSError("disk full")

    run.checkpoint_in_background(write)
    with pytest.raises(OSError, match="disk full"):
        run.settle()
    run.settle()  # raised once, not again
    run.close()


def test_the_final_report_comes_after_the_background_one(tmp_path: Path) -> None:
    """An interrupt while a checkpoint is being written: the final report still lands last."""
    run = session(tmp_path)
    order: list[str] = []
    release = threading.Event()

    def slow_checkpoint() -> None:
        release.wait(5)
        order.append("checkpoint")

    with pytest.raises(KeyboardInterrupt), run.running(lambda: order.append("final")):
        run.checkpoint_in_background(slow_checkpoint)
        threading.Timer(0.2, release.set).start()
        raise KeyboardInterrupt
    assert order == ["checkpoint", "final"]
    assert run.interrupted == "Ctrl-C"
