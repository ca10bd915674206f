"""``ManagedProcess.stop()`` always ends with the whole group SIGKILLed and reaped.

The children here ignore SIGTERM (and start a grandchild in their group that does
too), so only the SIGKILL can end them: a test passes only if it is sent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import psutil
import pytest

from harness.core import process
from harness.core.process import ManagedProcess, Terminated, stop_all

GRACE_S = 3.0
INTERRUPT_AFTER_S = 0.3

STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""
"""Ignores SIGTERM, as does its child (same process group); prints the child's pid."""


def gone(pid: int, wait_s: float = 5.0) -> bool:
    """True once ``pid`` no longer exists or is only a zombie (poll for ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.NoSuchProcess):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def stubborn(tmp_path: Path) -> Iterator[tuple[ManagedProcess, int]]:
    """A started SIGTERM-ignoring process and its grandchild's pid."""
    proc = ManagedProcess(
        [sys.executable, "-c", STUBBORN],
        name="stubborn",
        log_path=tmp_path / "stubborn.log",
        env=dict(os.environ),
        capture_stdout=True,
        grace_s=GRACE_S,
    ).start()
    grandchild = None
    try:
        line = proc.next_line(timeout=10.0)
        assert line is not None, proc.log_tail()
        grandchild = int(line[1])
        yield proc, grandchild
    finally:
        proc.stop()  # never leave them running, whatever the test did (or stop() failed to do)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5.0)
        if grandchild is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(grandchild, signal.SIGKILL)


@pytest.fixture(params=[KeyboardInterrupt, Terminated], ids=["ctrl-c", "sigterm"])
def alarm_interrupt(request: pytest.FixtureRequest) -> Iterator[type[BaseException]]:
    """Raise Ctrl-C's KeyboardInterrupt (or SIGTERM's ``Terminated``, as the harness's
    handler does) in the main thread INTERRUPT_AFTER_S from now."""
    exc: type[BaseException] = request.param

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise exc(128 + signal.SIGTERM) if exc is Terminated else exc

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, INTERRUPT_AFTER_S)
    try:
        yield exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_group_gone(proc: ManagedProcess, grandchild: int) -> None:
    assert proc.poll() is not None, "the leader was not reaped"
    assert gone(proc.pid), f"leader {proc.pid} still alive"
    assert gone(grandchild), f"grandchild {grandchild} (same group) still alive"
    assert proc not in process._LIVE


def test_sigterm_ignored_is_killed_after_grace(stubborn: tuple[ManagedProcess, int]) -> None:
    proc, grandchild = stubborn
    started = time.monotonic()
    code = proc.stop()
    took = time.monotonic() - started
    assert code == -signal.SIGKILL
    assert GRACE_S - 0.1 <= took < GRACE_S + 3.0
    assert_group_gone(proc, grandchild)
    assert proc.stop() == code  # a second call signals nothing and says the same


def test_interrupt_during_grace_still_kills_the_group(
    stubborn: tuple[ManagedProcess, int], alarm_interrupt: type[BaseException]
) -> None:
    proc, grandchild = stubborn
    started = time.monotonic()
    with pytest.raises(alarm_interrupt):
        proc.stop()
    took = time.monotonic() - started
    assert took < GRACE_S, "the interrupt should cut the grace period short"
    assert proc.poll() == -signal.SIGKILL
    assert_group_gone(proc, grandchild)
    stop_all()  # the atexit hook afterwards: nothing left to do, nothing raised
    assert proc.stop() == -signal.SIGKILL


def test_second_signal_during_kill_leaves_it_to_stop_all(
    stubborn: tuple[ManagedProcess, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second Ctrl-C arriving as the KILL is about to go out: the process stays
    registered, and the atexit hook kills it without another grace period."""
    proc, grandchild = stubborn
    real_signal_group = process._signal_group
    kills: list[int] = []

    def second_ctrl_c(pgid: int, sig: signal.Signals) -> None:
        if sig == signal.SIGKILL and not kills:
            kills.append(pgid)
            raise KeyboardInterrupt
        real_signal_group(pgid, sig)

    monkeypatch.setattr(process, "_signal_group", second_ctrl_c)
    proc.grace_s = 0.2
    with pytest.raises(KeyboardInterrupt):
        proc.stop()
    assert proc in process._LIVE, "not reaped, so it must stay registered for the atexit hook"
    proc.grace_s = 60.0  # a second grace period would show as a slow stop_all()
    started = time.monotonic()
    stop_all()
    assert time.monotonic() - started < 5.0
    assert proc.poll() == -signal.SIGKILL
    assert_group_gone(proc, grandchild)
