"""The raw records of a run. Everything in a report is derived from these.

A ``RequestRecord`` is one request as both sides saw it; a ``BatchRecord`` is one
batch of N requests from one client process (repeat 0 is the warm-up, kept but
never counted). ``Pairing`` names a server x client cell and carries its outcome
when it did not produce batches (failed or never measured). A ``Phase`` is a
stretch of the harness's own wall time (a server starting, a client process, a
report being written), so where a run's time went is measured, not guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ReportKind = Literal["compare", "sweep", "bench", "load", "interpreters", "locust"]
"""The kinds of report the harness writes; ``harness.export.EXPORTERS`` is keyed by them."""

SCHEMAS: dict[ReportKind, str] = {
    "compare": "concurrency-compare/report/1",
    "sweep": "concurrency-compare/sweep/1",
    "bench": "concurrency-compare/bench/1",
    "load": "concurrency-compare/load/1",
    "interpreters": "concurrency-compare/interpreters/1",
    "locust": "concurrency-compare/locust/1",
}
"""The schema name each kind's JSON file carries, kept here and nowhere else."""

Status = Literal["ok", "failed", "not measured"]

PhaseKind = Literal["setup", "server_start", "server_stop", "client", "report", "run"]


REJECTED_STATUSES = (429, 503)


@dataclass(frozen=True)
class RequestRecord:
    name: str
    error: str | None
    status: int
    sent_ns: int
    recv_ns: int
    pid: int | None = None
    thread: str | None = None
    enter_ns: int | None = None
    exit_ns: int | None = None
    handler: str | None = None
    peer_port: int | None = None
    """The client's TCP port as the server saw it: which connection served the request."""
    cpu_enter_ns: int | None = None
    cpu_exit_ns: int | None = None
    """The serving process's CPU time (all threads) at handler enter and exit."""
    server_closed: bool = False
    """The response said ``Connection: close``: the server, not the client, ended the connection."""

    http_version: str | None = None
    """The protocol the server answered with, as the client read it (``HTTP/1.1``, ``HTTP/2``)."""

    gil_enabled: bool | None = None
    """Whether the serving interpreter ran with its GIL (``sys._is_gil_enabled()``; None for Go)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rejected(self) -> bool:
        """Turned away by the server (HTTP 503 or 429, or a refused connection): kept apart
        from failures, because a server that rejects instead of queueing is behaving as set up."""
        return self.status in REJECTED_STATUSES or (self.error is not None and "refused" in self.error.lower())

    @property
    def latency_s(self) -> float:
        return (self.recv_ns - self.sent_ns) / 1e9


@dataclass(frozen=True)
class BatchRecord:
    server: str
    client: str
    repeat: int
    clients: int
    delay_s: float
    wall_s: float
    """Timed inside the client, as the article's ``!! main took``."""
    outside_s: float
    """Timed by the harness, from the previous line (or process start) to this one."""
    requests: tuple[RequestRecord, ...]
    work: str = "wait"
    client_cpu_s: float | None = None
    """CPU time the client process used during the batch (all its threads), as it reported."""
    connections: str = "reuse"
    """The client's connection policy: ``reuse`` (kept across batches) or ``fresh`` (one per request)."""
    machine_busy_cores: float | None = None
    """How many cores the whole machine kept busy from the previous batch line to this
    one (every process, and time the hypervisor stole): what was left for the server."""
    machine_steal_share: float | None = None
    """The share of the machine's CPU time the host stole over the same window
    (``steal`` in ``/proc/stat``): a VM's cores waiting for real ones, which slows
    every process without showing in their CPU times."""
    shared_clock: bool = True
    """Client and server stamped one clock (one host): the client's send can be set
    against the handlers' enter. ``False`` for a ``--target`` on another host."""
    server_tree: dict[str, Any] | None = None
    """``--server-pid``: the server's process tree sampled over this batch
    (``core.pidtree.TreeSample.to_dict``: processes, threads, cpu_s, wall_s, parallelism)."""

    @property
    def warmup(self) -> bool:
        return self.repeat == 0

    @property
    def failed(self) -> tuple[RequestRecord, ...]:
        """Requests that went wrong; rejections (``RequestRecord.rejected``) are not among them."""
        return tuple(r for r in self.requests if not r.ok and not r.rejected)

    @property
    def rejected(self) -> tuple[RequestRecord, ...]:
        return tuple(r for r in self.requests if r.rejected)

    @property
    def ratio(self) -> float:
        return self.wall_s / self.delay_s

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("requests")
        data["warmup"] = self.warmup
        data["failed_requests"] = len(self.failed)
        return data


@dataclass
class Pairing:
    server: str
    client: str
    status: Status = "not measured"
    reason: str = ""
    batches: list[BatchRecord] = field(default_factory=list)

    @property
    def counted(self) -> list[BatchRecord]:
        return [b for b in self.batches if not b.warmup]


@dataclass(frozen=True)
class Phase:
    """A stretch of the run's wall time, on the harness's clock (``perf_counter``).

    ``setup``: before the measurement (Go build, environment); ``server_start``:
    start until ``/health`` answers; ``server_stop``: after its last client until
    the group is gone; ``client``: one client process, start to stop; ``report``:
    one rewrite of the report files; ``run``: the whole measurement, reports
    included. Times are seconds since the measurement began (``setup`` is < 0).
    """

    kind: PhaseKind
    start_s: float
    end_s: float
    server: str = ""
    client: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s
