"""Server-side evidence from request records: why a batch took 1x or Nx.

Handlers stamp enter/exit on a clock shared by every process of the run, so the
most requests in flight at once is a sweep over +1/-1 events; at equal times exits
come before enters, so back-to-back requests never count as overlapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.model import RequestRecord


@dataclass(frozen=True)
class Evidence:
    max_in_flight: int
    processes: int
    threads: int
    """Distinct (process, thread or goroutine) pairs that ran a handler."""


def max_in_flight(records: Iterable[RequestRecord]) -> int:
    events: list[tuple[int, int]] = []
    for r in records:
        if r.enter_ns is not None and r.exit_ns is not None:
            events.append((r.enter_ns, 1))
            events.append((r.exit_ns, -1))
    events.sort()  # (t, -1) sorts before (t, +1): exits first at equal t
    peak = running = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def evidence(records: Iterable[RequestRecord]) -> Evidence:
    served = [r for r in records if r.ok and r.pid is not None]
    return Evidence(
        max_in_flight=max_in_flight(served),
        processes=len({r.pid for r in served}),
        threads=len({(r.pid, r.thread) for r in served}),
    )
