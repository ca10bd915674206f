"""The one owner of process lifecycle: nothing else in the harness calls Popen.

Every process runs in a session of its own (so its workers, reloader children and
threads are one process group), logs to a file, and is stopped by ``stop()``:
SIGTERM to the group, a bounded grace period, SIGKILL, reap, then SIGKILL to
whatever is left of the group or of the descendants seen before. ``ManagedProcess``
is a context manager, so this holds on success, on exceptions and on Ctrl-C; a
Ctrl-C or SIGTERM during the grace period only cuts it short (the SIGKILL and the
reap still happen, then the exception goes on). ``install_signal_handlers`` makes
SIGTERM unwind the same way, and an ``atexit`` hook stops anything still
registered as a last resort.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import BinaryIO

import psutil

from harness.core.errors import PairingError

DEFAULT_GRACE_S = 5.0

_LIVE: set[ManagedProcess] = set()
_LIVE_LOCK = threading.Lock()


def pin_to(cpus: frozenset[int]) -> Callable[[], None]:
    """A ``preexec_fn`` that sets the child's CPU affinity before it execs: inherited by
    every thread and process it starts, and seen by Go's runtime (GOMAXPROCS) and by
    ``os.sched_getaffinity``. One system call, safe between fork and exec."""
    chosen = set(cpus)

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


class ManagedProcess:
    """A child process in its own session, stopped with all of its children."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        log_path: Path,
        env: Mapping[str, str],
        cwd: Path | None = None,
        pass_fds: Sequence[int] = (),
        capture_stdout: bool = False,
        merge_stderr: bool = False,
        grace_s: float = DEFAULT_GRACE_S,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.name = name
        self.log_path = log_path
        self.env = dict(env)
        self.cwd = cwd
        self.pass_fds = tuple(pass_fds)
        self.capture_stdout = capture_stdout
        self.merge_stderr = merge_stderr and capture_stdout
        self.grace_s = grace_s
        self.cpus = frozenset(cpus) if cpus else None
        """The CPUs the child (and everything it starts) may run on; ``None``: this process's own."""
        self.started_at = 0.0
        self.log_start = 0
        """Where this start's output begins in the log (the file is appended to)."""
        self._popen: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self._log: BinaryIO | None = None
        self._terminated = False
        """SIGTERM sent: a later ``stop()`` goes straight to SIGKILL."""
        self._stopped = False
        """Killed and reaped: a later ``stop()`` signals nothing."""
        self._descendants: list[psutil.Process] = []

    # -- starting ------------------------------------------------------------
    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.log_start = self._log.tell()
        self._log.write(f"$ {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self.started_at = time.perf_counter()
        try:
            self._popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if self.capture_stdout else self._log,
                stderr=subprocess.STDOUT if self.merge_stderr else self._log,
                pass_fds=self.pass_fds,
                start_new_session=True,
                preexec_fn=pin_to(self.cpus) if self.cpus else None,
            )
        except OSError as exc:
            self._log.close()
            raise PairingError(
                f"{self.name}: cannot start {self.argv[0]!r} ({exc.strerror}): check the command in the catalog"
            ) from exc
        with _LIVE_LOCK:
            _LIVE.add(self)
        if self.capture_stdout:
            threading.Thread(target=self._read_stdout, name=f"{self.name}-stdout", daemon=True).start()
        return self

    def __enter__(self) -> ManagedProcess:
        """Start, unless ``start()`` was called already (to handle its errors apart)."""
        return self if self._popen is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read_stdout(self) -> None:
        """Queue each stdout line with the moment it arrived (the outside clock)."""
        assert self._popen is not None and self._popen.stdout is not None
        for raw in self._popen.stdout:
            self._lines.put((time.perf_counter(), raw.decode(errors="replace")))
        self._lines.put(None)

    # -- running -------------------------------------------------------------
    @property
    def pid(self) -> int:
        assert self._popen is not None, "not started"
        return self._popen.pid

    def poll(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def next_line(self, timeout: float) -> tuple[float, str] | None:
        """The next stdout line and its arrival time; ``None`` at end of output.

        Raises ``TimeoutError`` when nothing arrives within ``timeout`` seconds.
        """
        try:
            return self._lines.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            raise TimeoutError from None

    def wait(self, timeout: float) -> int:
        """The exit status; ``TimeoutError`` when it is still running after ``timeout``."""
        assert self._popen is not None
        try:
            return self._popen.wait(max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{self.name} still running after {timeout:.0f} s") from None

    def log_since_start(self) -> str:
        """The log as written since this process started, not by earlier runs."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_start)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 8) -> str:
        """The last lines this start wrote to the log, for error messages."""
        text = self.log_since_start()
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def group(self) -> list[psutil.Process]:
        """Every live process of this process group or below its leader."""
        if self._popen is None:
            return []
        found: dict[int, psutil.Process] = {}
        try:
            leader = psutil.Process(self._popen.pid)
            for p in [leader, *leader.children(recursive=True)]:
                found[p.pid] = p
        except psutil.Error:
            pass
        for p in psutil.process_iter():
            try:
                if os.getpgid(p.pid) == self._popen.pid:
                    found[p.pid] = p
            except (OSError, psutil.Error):
                continue
        return list(found.values())

    # -- stopping ------------------------------------------------------------
    def stop(self) -> int | None:
        """Stop the whole group: TERM, grace, KILL, reap.

        The KILL and the reap happen in a ``finally``: a Ctrl-C or SIGTERM
        (``Terminated``) that arrives during the grace period cuts the wait short,
        the group is killed and reaped all the same, and the exception goes on
        afterwards. Until the reap is done the process stays registered, so if even
        the KILL is interrupted (a second signal without ``install_signal_handlers``)
        a later call, or the ``atexit`` hook, kills it without a second grace period.
        Safe to call twice: once reaped, a call signals nothing (the pid may belong
        to someone else by then).
        """
        popen = self._popen
        if popen is None:
            return None
        if self._stopped:
            return popen.returncode
        try:
            if not self._terminated:
                self._terminated = True
                try:
                    self._descendants = psutil.Process(popen.pid).children(recursive=True)
                except psutil.Error:
                    self._descendants = []
                _signal_group(popen.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    popen.wait(self.grace_s)
        finally:
            self._kill_and_reap(popen)
        return popen.returncode

    def _kill_and_reap(self, popen: subprocess.Popen[bytes]) -> None:
        """SIGKILL the group (first thing), reap the leader, then mark it stopped."""
        _signal_group(popen.pid, signal.SIGKILL)
        popen.wait()
        # Workers or reloader children that outlived their leader (or left its group).
        _signal_group(popen.pid, signal.SIGKILL)
        for child in self._descendants:
            with contextlib.suppress(psutil.Error):
                child.kill()
        self._stopped = True
        if popen.stdout is not None:
            popen.stdout.close()
        if self._log is not None and not self._log.closed:
            self._log.close()
        with _LIVE_LOCK:
            _LIVE.discard(self)


def describe_exit(code: int | None) -> str:
    """'status 3', or 'killed by SIGKILL' for a signal (Popen's negative codes)."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


def run_command(
    argv: Sequence[str],
    *,
    name: str,
    log_path: Path,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout_s: float = 600.0,
) -> tuple[int, str]:
    """Run a short command to its end (a build, a version query); return (status, output).

    It goes through ``ManagedProcess`` like everything else, so Ctrl-C or SIGTERM
    during a Go build stops the compiler's whole process group too.
    """
    lines: list[str] = []
    with ManagedProcess(argv, name=name, log_path=log_path, env=env, cwd=cwd, capture_stdout=True,
                        merge_stderr=True) as proc:  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while (item := proc.next_line(deadline - time.monotonic())) is not None:
            lines.append(item[1])
        code = proc.wait(deadline - time.monotonic() + 1.0)  # output closed: it is exiting
    return code, "".join(lines)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_all() -> None:
    """Stop every process still registered (the last-resort cleanup)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        proc.stop()


atexit.register(stop_all)


class Terminated(SystemExit):
    """Raised in the main thread when the harness gets SIGTERM or SIGHUP."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1


def install_signal_handlers() -> None:
    """Make SIGTERM/SIGHUP unwind like Ctrl-C, so every ``finally`` runs.

    Without this, SIGTERM kills Python without running cleanup and orphans the
    servers. Only the first stop signal counts: a second Ctrl-C (or nox's SIGTERM
    that follows its SIGINT) must not break the cleanup it started. The later ones
    go to a handler that does nothing, not SIG_IGN, which children would inherit.
    On Linux the harness also asks for SIGTERM when its parent dies (nox killed,
    terminal gone), so it never keeps servers running unattended.
    """

    def quiet(signum: int, frame: FrameType | None) -> None:
        return None

    def first(signum: int, frame: FrameType | None) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, quiet)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(128 + signum)

    for sig in STOP_SIGNALS:
        signal.signal(sig, first)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


if sys.platform == "win32":  # pragma: no cover
    raise ImportError("the harness needs POSIX process groups (Linux or macOS)")


def signal_name(exc: Terminated) -> str:
    """The name of the signal that ended the harness (``SIGTERM``), for its last line."""
    try:
        return signal.Signals(int(exc.code or 143) - 128).name
    except ValueError:
        return "a signal"
