"""Readiness probes: wait until a server answers, with a deadline, watching it die.

With an inherited socket a TCP connect succeeds before the server runs, so the
probe is an HTTP GET of ``/health``. A server that binds its own port 0 prints the
port; ``port_from_log`` waits for that line. Both give up early when the process
exits and quote the tail of its log.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from harness.core.errors import ServerError
from harness.core.process import ManagedProcess, describe_exit

PROBE_TIMEOUT_S = 1.0
BACKOFF_START_S = 0.01
BACKOFF_MAX_S = 0.1
"""Probes are one GET on loopback; a 0.5 s cap made servers wait ~0.2 s each after
they were ready (uvicorn prints its port ~0.5 s after start), every run."""
LOG_POLL_S = 0.02
"""Reading the few lines of a starting server's log costs ~0.1 ms."""
NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
"""Probes are plain HTTP; a context with no CA bundle saves loading one per probe
client (~40 ms), and would refuse any TLS peer rather than trust it."""


T = TypeVar("T")


def wait_for(
    proc: ManagedProcess,
    timeout_s: float,
    check: Callable[[], T | None],
    waiting_for: str,
    detail: Callable[[], str] = lambda: "",
    backoff: tuple[float, float] = (BACKOFF_START_S, BACKOFF_MAX_S),
) -> T:
    """Call ``check`` with backoff until it returns a value; fail early if ``proc`` exits.

    Both failures quote the tail of the process's log; a timeout says what was
    awaited (``waiting_for``) and, through ``detail``, the last thing seen.
    ``backoff`` is the first and the longest pause between checks.
    """
    deadline = time.monotonic() + timeout_s
    delay, longest = backoff
    while True:
        if (found := check()) is not None:
            return found
        if (code := proc.poll()) is not None:
            raise ServerError(
                f"{proc.name} exited ({describe_exit(code)}) before it was ready; last lines of its log "
                f"({proc.log_path}):\n{proc.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise ServerError(
                f"{proc.name} {waiting_for} within {timeout_s:.0f} s{detail()}; last lines of its log "
                f"({proc.log_path}):\n{proc.log_tail()}"
            )
        time.sleep(delay)
        delay = min(delay * 2, longest)


def port_from_log(proc: ManagedProcess, pattern: re.Pattern[str], timeout_s: float) -> int:
    """Wait until the server logs the port it bound, and return it."""

    def check() -> int | None:
        match = pattern.search(proc.log_since_start())
        return int(match.group(1)) if match else None

    return wait_for(proc, timeout_s, check, "did not print its port", backoff=(LOG_POLL_S, LOG_POLL_S))


def wait_until_ready(proc: ManagedProcess, base_url: str, timeout_s: float, *, http2: bool = False) -> float:
    """Poll ``GET /health`` until it answers 200; return the seconds it took.

    ``http2``: ask over h2c with prior knowledge (a server that speaks nothing else)."""
    start = time.monotonic()
    last = ["no answer yet"]

    def check() -> float | None:
        try:
            status = client.get(base_url + "health").status_code
        except httpx.HTTPError as exc:
            last[0] = type(exc).__name__
            return None
        if status == 200:
            return time.monotonic() - start
        last[0] = f"GET /health answered {status}"
        return None

    with httpx.Client(timeout=PROBE_TIMEOUT_S, trust_env=False, verify=NO_TLS, http1=not http2, http2=http2) as client:
        return wait_for(proc, timeout_s, check, "was not ready", lambda: f" ({last[0]})")
