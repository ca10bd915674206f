"""What the Python servers and clients share with the harness.

The clock every record is stamped on, the client naming rule, and the reply every
handler returns: the article's ``{"hello": ..., "client": ...}`` plus the evidence
(pid, thread, enter/exit) from which the harness proves *why* a batch took 1x or Nx.
The Go side mirrors this in ``go/internal/evidence``.
"""

from __future__ import annotations

import os
import sys
import threading
import time

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


def reply(client: str, enter_ns: int, handler: str) -> dict[str, object]:
    """The body every handler answers with, stamped at exit."""
    return {
        "hello": "world",
        "client": client,
        "pid": os.getpid(),
        "thread": f"t{threading.get_native_id()}",
        "enter_ns": enter_ns,
        "exit_ns": now_ns(),
        "clock": CLOCK_NAME,
        "handler": handler,
        "work": os.environ.get("HARNESS_WORK", "wait"),
    }


HEALTH = {"status": "ok"}
