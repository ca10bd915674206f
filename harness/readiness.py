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

import httpx

from harness.errors import ServerError
from harness.process import ManagedProcess, describe_exit

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


def _exited(proc: ManagedProcess, code: int) -> ServerError:
    return ServerError(
        f"{proc.name} exited ({describe_exit(code)}) before it was ready; last lines of its log "
        f"({proc.log_path}):\n{proc.log_tail()}"
    )


def _backoff(delay: float) -> float:
    time.sleep(delay)
    return min(delay * 2, BACKOFF_MAX_S)


def port_from_log(proc: ManagedProcess, pattern: re.Pattern[str], timeout_s: float) -> int:
    """Wait until the server logs the port it bound, and return it."""
    deadline = time.monotonic() + timeout_s
    while True:
        match = pattern.search(proc.log_since_start())
        if match:
            return int(match.group(1))
        if (code := proc.poll()) is not None:
            raise _exited(proc, code)
        if time.monotonic() > deadline:
            raise ServerError(
                f"{proc.name} did not print its port within {timeout_s:.0f} s; last lines of its log "
                f"({proc.log_path}):\n{proc.log_tail()}"
            )
        time.sleep(LOG_POLL_S)


def wait_until_ready(proc: ManagedProcess, base_url: str, timeout_s: float) -> float:
    """Poll ``GET /health`` until it answers 200; return the seconds it took."""
    start = time.monotonic()
    deadline = start + timeout_s
    delay = BACKOFF_START_S
    last = "no answer yet"
    with httpx.Client(timeout=PROBE_TIMEOUT_S, trust_env=False, verify=NO_TLS) as client:
        while True:
            try:
                status = client.get(base_url + "health").status_code
                if status == 200:
                    return time.monotonic() - start
                last = f"GET /health answered {status}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            if (code := proc.poll()) is not None:
                raise _exited(proc, code)
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{proc.name} was not ready within {timeout_s:.0f} s ({last}); last lines of its log "
                    f"({proc.log_path}):\n{proc.log_tail()}"
                )
            delay = _backoff(delay)
