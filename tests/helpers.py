"""Builders for fixed result sets, shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

from harness.compare.results import RunResults
from harness.core.records import BatchRecord, RequestRecord

MS = 1_000_000
ENV = {
    "date": "2026-01-01T00:00:00+00:00",
    "os": "Linux",
    "cpu_count": 2,
    "cores": 2,
    "cpu_model": "Test CPU",
    "load_average": [0.1, 0.1, 0.1],
    "python": "CPython 3.11.7",
    "go": "go1.27.3",
    "packages": {"httpx": "0.28.1"},
    "harness": "0.1.0",
    "provenance": {
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "dirty": False,
        "command": "python -m harness compare",
        "created": "2026-01-01T00:00:00+00:00",
    },
}
"""The environment of every fixed result set: no test depends on the machine."""


def request(
    name: str,
    *,
    enter_ms: float,
    exit_ms: float,
    pid: int = 100,
    thread: str = "t1",
    handler: str = "h",
    error: str | None = None,
) -> RequestRecord:
    return RequestRecord(
        name=name,
        error=error,
        status=200 if error is None else 0,
        sent_ns=int(enter_ms * MS) - MS,
        recv_ns=int(exit_ms * MS) + MS,
        pid=None if error else pid,
        thread=None if error else thread,
        enter_ns=None if error else int(enter_ms * MS),
        exit_ns=None if error else int(exit_ms * MS),
        handler=None if error else handler,
    )


def concurrent_requests(n: int = 5, d_ms: float = 200, **kw: object) -> tuple[RequestRecord, ...]:
    return tuple(request(chr(65 + i), enter_ms=0, exit_ms=d_ms, thread=f"t{i}", **kw) for i in range(n))  # type: ignore[arg-type]


def serial_requests(n: int = 5, d_ms: float = 200, **kw: object) -> tuple[RequestRecord, ...]:
    return tuple(
        request(chr(65 + i), enter_ms=i * d_ms, exit_ms=(i + 1) * d_ms, **kw)  # type: ignore[arg-type]
        for i in range(n)
    )


def batch(
    server: str, client: str, repeat: int, ratio: float, requests: tuple[RequestRecord, ...], delay_s: float = 0.2
) -> BatchRecord:
    return BatchRecord(
        server=server,
        client=client,
        repeat=repeat,
        clients=len(requests),
        delay_s=delay_s,
        wall_s=ratio * delay_s,
        outside_s=ratio * delay_s + 0.01,
        requests=requests,
    )


def fixed_results(out: Path) -> RunResults:
    """Two servers x two clients, one failed pairing, with fixed numbers."""
    settings = {
        "command": "python -m harness compare",
        "delay_s": 0.2,
        "clients": 5,
        "repeats": 2,
        "work": "wait",
        "servers": ["go-nethttp", "gunicorn-default"],
        "client_impls": ["go-goroutines", "httpx-sequential"],
        "duration_s": 12.0,
    }
    results = RunResults(out, settings, dict(ENV))
    for server, client in [
        ("go-nethttp", "go-goroutines"),
        ("go-nethttp", "httpx-sequential"),
        ("gunicorn-default", "go-goroutines"),
        ("gunicorn-default", "httpx-sequential"),
    ]:
        results.plan(server, client)
    for repeat, ratio in enumerate([1.2, 1.01, 1.03]):
        results.add_batch(batch("go-nethttp", "go-goroutines", repeat, ratio, concurrent_requests()))
    for repeat, ratio in enumerate([5.1, 5.02, 5.04]):
        results.add_batch(batch("go-nethttp", "httpx-sequential", repeat, ratio, serial_requests(thread="t9")))
        results.add_batch(batch("gunicorn-default", "go-goroutines", repeat, ratio, serial_requests()))
    results.finish("go-nethttp", "go-goroutines", "ok")
    results.finish("go-nethttp", "httpx-sequential", "ok")
    results.finish("gunicorn-default", "go-goroutines", "ok")
    results.finish("gunicorn-default", "httpx-sequential", "failed", "httpx-sequential exited with status 1")
    results.complete = True
    return results
