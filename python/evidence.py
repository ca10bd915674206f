"""What the Python servers and clients share with the harness.

The clock every record is stamped on, the client naming rule, and the reply every
handler returns: the article's ``{"hello": ..., "client": ...}`` plus the evidence
(pid, thread, enter/exit, the process's CPU time at both, the connection's peer
port) from which the harness proves *why* a batch took 1x or Nx. The Go side
mirrors this in ``go/internal/evidence`` and ``go/server``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import NamedTuple

if sys.platform.startswith("linux"):
    # CLOCK_MONOTONIC is system-wide on Linux: a worker's reading orders correctly
    # with its master's, the client's and the Go server's (which reads it raw).
    CLOCK_NAME = "monotonic"

    def now_ns() -> int:
        return time.clock_gettime_ns(time.CLOCK_MONOTONIC)

else:  # pragma: no cover - the Go side falls back to the same clock
    CLOCK_NAME = "realtime"

    def now_ns() -> int:
        return time.time_ns()


def client_names(n: int) -> list[str]:
    """A..Z, AA, AB, ...: the first five are the article's A..E."""
    names = []
    for i in range(1, n + 1):
        name = ""
        while i:
            i, rem = divmod(i - 1, 26)
            name = chr(ord("A") + rem) + name
        names.append(name)
    return names


def cpu_ns() -> int:
    """CPU time this process has used so far, user + system, all threads (Go: getrusage)."""
    return time.process_time_ns()


class Stamp(NamedTuple):
    """What a handler reads as it enters: the clock and the process's CPU time."""

    enter_ns: int
    cpu_enter_ns: int


def enter() -> Stamp:
    """Call first thing in a handler; pass the result to ``reply``."""
    return Stamp(now_ns(), cpu_ns())


def reply(client: str, stamp: Stamp, handler: str, peer_port: int | str | None) -> dict[str, object]:
    """The body every handler answers with, stamped at exit.

    ``peer_port`` is the client's TCP source port as the server saw it (which
    connection carried the request): an int from ASGI, a string from a WSGI
    environ's ``REMOTE_PORT``; ``None`` (null) when the server does not know it.
    """
    exit_ns, cpu_exit_ns = now_ns(), cpu_ns()
    return {
        "hello": "world",
        "client": client,
        "pid": os.getpid(),
        "thread": f"t{threading.get_native_id()}",
        "enter_ns": stamp.enter_ns,
        "exit_ns": exit_ns,
        "cpu_enter_ns": stamp.cpu_enter_ns,
        "cpu_exit_ns": cpu_exit_ns,
        "peer_port": int(peer_port) if peer_port not in (None, "") else None,
        "clock": CLOCK_NAME,
        "handler": handler,
        "work": os.environ.get("HARNESS_WORK", "wait"),
        "gil_enabled": gil_enabled(),
    }


def gil_enabled() -> bool:
    """Whether this interpreter runs with its GIL now: always on a default build; on a
    free-threaded one (3.13t, 3.14t) off unless an extension turned it back on."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


HEALTH = {"status": "ok"}
