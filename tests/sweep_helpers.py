"""Synthetic sweep points that follow the capacity model exactly: waves of k."""

from __future__ import annotations

import math
from pathlib import Path

from harness.core.catalog import CATALOG
from harness.core.records import BatchRecord, RequestRecord
from harness.sweep.runner import Resources, SweepPoint, SweepResults
from tests.helpers import ENV

MS = 1_000_000


def waves(n: int, k: int | None, *, delay_s: float = 0.2, pid: int = 100) -> tuple[RequestRecord, ...]:
    """N requests sent at t=0 and served in waves of k (one lane per slot)."""
    d_ns = int(delay_s * 1000) * MS
    width = n if k is None else k
    out = []
    for i, name in enumerate(f"C{k}" for k in range(n)):
        wave, lane = divmod(i, width)
        enter = wave * d_ns + MS
        out.append(
            RequestRecord(
                name=name,
                error=None,
                status=200,
                sent_ns=0,
                recv_ns=enter + d_ns + MS,
                pid=pid,
                thread=f"t{lane}",
                enter_ns=enter,
                exit_ns=enter + d_ns,
                handler="h",
            )
        )
    return tuple(out)


def point(server: str, n: int, k: int | None, *, delay_s: float = 0.2, status: str = "ok", **kw: object) -> SweepPoint:
    """A measured point whose wall time is exactly the model's ceil(N / k) x D (+2%)."""
    reqs = waves(n, k, delay_s=delay_s)
    ratio = (1 if k is None else math.ceil(n / k)) * 1.02
    batch = BatchRecord(
        server=server,
        client="go-goroutines",
        repeat=1,
        clients=n,
        delay_s=delay_s,
        wall_s=ratio * delay_s,
        outside_s=ratio * delay_s + 0.05,
        requests=reqs,
    )
    resources = Resources(
        idle_rss_bytes=10 * 2**20,
        idle_threads=4,
        peak_rss_bytes=(10 + n // 10) * 2**20,
        peak_threads=4 + (n if k is None else k),
        peak_processes=1,
        samples=10,
    )
    return SweepPoint(
        server=server,
        client="go-goroutines",
        clients=n,
        delay_s=delay_s,
        budget_s=5.0,
        status=status,  # type: ignore[arg-type]
        batch=batch,
        resources=resources,
        tcp={"ListenOverflows": 0, "TCPSynRetrans": 0},
        **kw,  # type: ignore[arg-type]
    )


def not_run(server: str, n: int, reason: str) -> SweepPoint:
    return SweepPoint(
        server=server, client="go-goroutines", clients=n, delay_s=0.2, budget_s=5.0, status="not run", reason=reason
    )


def fixed_sweep(out: Path) -> SweepResults:
    """Three servers that behave as declared; the serial one runs out of budget at N=10."""
    settings = {
        "command": "python -m harness sweep",
        "delay_s": 0.2,
        "budget_s": 5.0,
        "ladder": [1, 2, 5, 10, 20],
        "client": "go-goroutines",
        "client_reason": "the default client",
        "servers": ["go-nethttp", "gunicorn-threads5", "gunicorn-default"],
        "open_files_limit": 20000,
        "duration_s": 42.0,
    }
    results = SweepResults(out, settings, ENV, CATALOG)
    for n in (1, 2, 5, 10, 20):
        results.add(point("go-nethttp", n, None))
    for n in (1, 2, 5, 6, 10, 20):
        results.add(point("gunicorn-threads5", n, 5))
    for n in (1, 2, 5):
        results.add(point("gunicorn-default", n, 1))
    results.add(point("gunicorn-default", 10, 1, status="over budget", reason="took the whole budget"))
    results.add(not_run("gunicorn-default", 20, "not run: exceeded the budget at N=10"))
    results.complete = True
    results.close()
    return results
