"""Server-side evidence from request records: why a batch took 1x or Nx.

Handlers stamp enter/exit on a clock shared by every process of the run, so the
most requests in flight at once is a sweep over +1/-1 events; at equal times exits
come before enters, so back-to-back requests never count as overlapping.

Handlers also stamp their process's CPU time at enter and exit, so the CPU a batch
cost the server is measured where it was spent: per process, from its first
handler's enter to its last handler's exit, summed over the processes.
``parallelism`` is that CPU over the batch's wall time: GIL-bound threads stay near
1.0 however many there are; worker processes and Go reach up to the usable cores.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.core.records import RequestRecord


@dataclass(frozen=True)
class Evidence:
    max_in_flight: int
    processes: int
    threads: int
    """Distinct (process, thread or goroutine) pairs that ran a handler."""
    server_cpu_s: float | None = None
    """CPU the serving processes used while handlers ran; ``None`` without CPU stamps."""
    dispatch_s: float | None = None
    """From the batch's first send to its last handler entry: how long the client
    (and the server's accept loop) took to get every request into a handler."""
    send_spread_s: float | None = None
    """From the batch's first send to its last, on the client's side alone."""


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


def server_cpu_s(records: Iterable[RequestRecord]) -> float | None:
    """CPU seconds the serving processes used from each one's first enter to its last exit."""
    spans: dict[int, tuple[int, int]] = {}
    for r in records:
        if r.pid is None or r.cpu_enter_ns is None or r.cpu_exit_ns is None:
            continue
        low, high = spans.get(r.pid, (r.cpu_enter_ns, r.cpu_exit_ns))
        spans[r.pid] = (min(low, r.cpu_enter_ns), max(high, r.cpu_exit_ns))
    if not spans:
        return None
    return sum(high - low for low, high in spans.values()) / 1e9


def dispatch_s(records: Iterable[RequestRecord]) -> float | None:
    entered = [r for r in records if r.enter_ns is not None]
    if not entered:
        return None
    return (max(r.enter_ns for r in entered if r.enter_ns is not None) - min(r.sent_ns for r in entered)) / 1e9


def evidence(records: Iterable[RequestRecord]) -> Evidence:
    served = [r for r in records if r.ok and r.pid is not None]
    return Evidence(
        max_in_flight=max_in_flight(served),
        processes=len({r.pid for r in served}),
        threads=len({(r.pid, r.thread) for r in served}),
        server_cpu_s=server_cpu_s(served),
        dispatch_s=dispatch_s(served),
        send_spread_s=(max(r.sent_ns for r in served) - min(r.sent_ns for r in served)) / 1e9 if served else None,
    )


def new_connections(batches: Iterable[Iterable[RequestRecord]]) -> list[int | None]:
    """Per batch, in order, how many connections the server saw for the first time.

    A connection is known by the client's port as the server saw it. With
    connections reused across batches, every batch after the first shows 0; with a
    new connection per request (or a server that closes each one), N.
    """
    seen: set[int] = set()
    found: list[int | None] = []
    for records in batches:
        ports = {r.peer_port for r in records if r.peer_port is not None}
        found.append(len(ports - seen) if ports else None)  # None: the server does not say
        seen |= ports
    return found
