"""One step of a load run: the load client's records, and what they say.

The Go load client (``go/loadclient``) prints one JSON line per scheduled request
and a summary line. Every figure of a step is derived here from those records:
throughput (answers completed inside the counted window, per second), latency
percentiles counted from each request's *intended* send time (so a stalled server
cannot hide its stall), failures by kind, the client's late sends, and from the
handlers' own stamps the most requests in flight and the server's CPU use.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.core.errors import ClientError
from harness.core.evidence import max_in_flight, server_cpu_s
from harness.core.protocol import parse_evidence_header
from harness.core.records import RequestRecord
from harness.load.model import CLIENT_LAG_MAX

REJECTED_STATUSES = (429, 503)
TIMEOUT_ERROR = "no answer within timeout"
"""The load client's words for a request that got no answer in time (also one abandoned at the end)."""
PERCENTILES = (("p50_s", 0.5), ("p90_s", 0.9), ("p99_s", 0.99), ("p999_s", 0.999))


def min_samples(p: float) -> int:
    """The fewest samples that put at least one above the p-th quantile: 2 for p50, 100 for p99."""
    return max(1, round(1 / (1 - p)))


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile (as the Go load client's stderr), or ``None`` with too few samples."""
    if len(values) < min_samples(p):
        return None
    ordered = sorted(values)
    return ordered[min(max(math.ceil(p * len(ordered)) - 1, 0), len(ordered) - 1)]


@dataclass(frozen=True)
class LoadRequest:
    name: str
    warmup: bool
    intended_ns: int
    sent_ns: int | None
    recv_ns: int | None
    status: int
    error: str
    late: bool
    server_closed: bool
    proto: str = ""
    """The protocol the server answered with (``HTTP/1.1``, ``HTTP/2.0``); empty without an answer."""
    pid: int | None = None
    thread: str | None = None
    enter_ns: int | None = None
    exit_ns: int | None = None
    cpu_enter_ns: int | None = None
    cpu_exit_ns: int | None = None

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def latency_s(self) -> float | None:
        return None if self.recv_ns is None or not self.ok else (self.recv_ns - self.intended_ns) / 1e9

    @property
    def timed_out(self) -> bool:
        return self.error == TIMEOUT_ERROR

    def settled_ns(self, timeout_ns: int | None, end_ns: int | None) -> int:
        """When the request ended, answered or not: its answer or failure; timed out: its send plus the
        timeout (at most the client's end); failed before any answer (client cap): when it was due.
        Failures count in the percentiles at this time, as k6 and vegeta count them."""
        if self.recv_ns is not None:
            return self.recv_ns
        if not self.timed_out:
            return self.sent_ns or self.intended_ns
        settled = self.sent_ns + timeout_ns if self.sent_ns is not None and timeout_ns else end_ns
        if settled is None:
            return self.sent_ns or self.intended_ns
        return min(settled, end_ns) if end_ns is not None else settled

    def as_record(self) -> RequestRecord:
        """The request as the shared evidence functions read it."""
        return RequestRecord(name=self.name, error=self.error or None, status=self.status,
                             sent_ns=self.sent_ns or self.intended_ns, recv_ns=self.recv_ns or 0, pid=self.pid,
                             thread=self.thread, enter_ns=self.enter_ns, exit_ns=self.exit_ns,
                             cpu_enter_ns=self.cpu_enter_ns, cpu_exit_ns=self.cpu_exit_ns)  # fmt: skip


@dataclass
class Step:
    server: str
    offered_rps: float
    requests: list[LoadRequest] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    reason: str = ""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_line(raw: dict[str, Any]) -> LoadRequest:
    """One request of the load client; the evidence from its ``Concurrency-Evidence`` header
    when it has one, else from the article's JSON fields of its body."""
    body = found if isinstance(found := raw.get("body"), dict) else {}
    error = str(raw.get("error") or "")
    if isinstance(header := raw.get("evidence_header"), str):
        body, problem = parse_evidence_header(header)
        if problem and not error:
            error = f"Concurrency-Evidence header: {problem}"
    return LoadRequest(
        name=str(raw["name"]),
        warmup=bool(raw["warmup"]),
        intended_ns=int(raw["intended_ns"]),
        sent_ns=_int(raw.get("sent_ns")),
        recv_ns=_int(raw.get("recv_ns")),
        status=int(raw.get("status") or 0),
        error=error,
        late=bool(raw.get("late")),
        server_closed=bool(raw.get("server_closed")),
        proto=str(raw.get("proto") or ""),
        pid=_int(body.get("pid")),
        thread=body.get("thread") if isinstance(body.get("thread"), str) else None,
        enter_ns=_int(body.get("enter_ns")),
        exit_ns=_int(body.get("exit_ns")),
        cpu_enter_ns=_int(body.get("cpu_enter_ns")),
        cpu_exit_ns=_int(body.get("cpu_exit_ns")),
    )


def parse_output(text: str, *, client: str) -> tuple[list[LoadRequest], dict[str, Any]]:
    """The load client's JSON Lines: its requests and its summary."""
    requests, summary = [], None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if "summary" in data:
                summary = data["summary"]
            else:
                requests.append(parse_line(data))
        except (ValueError, KeyError, TypeError) as exc:
            raise ClientError(f"{client} printed a malformed line ({exc}): {line[:200]!r}") from exc
    if summary is None:
        raise ClientError(f"{client} ended without its summary line")
    return requests, summary


def failure_kind(error: str) -> str:
    """Failures grouped by kind: the status for HTTP errors, the error text without numbers else."""
    if error.startswith("HTTP status"):
        return error
    return re.sub(r"[\d.:]+", "N", error)[:80]


def step_row(step: Step, *, delay_s: float) -> dict[str, Any]:
    """Everything a step's table row shows, from its records."""
    s = step.summary
    counted = [r for r in step.requests if not r.warmup]
    start, end = s.get("counted_start_ns"), s.get("counted_end_ns")
    duration_s = (end - start) / 1e9 if isinstance(start, int) and isinstance(end, int) and end > start else None
    in_window = [r for r in step.requests if r.ok and r.recv_ns is not None and start is not None
                 and end is not None and start <= r.recv_ns <= end]  # fmt: skip
    timeout_ns, end_ns = _int(s.get("timeout_ns")), _int(s.get("end_ns"))
    latencies = [(r.settled_ns(timeout_ns, end_ns) - r.intended_ns) / 1e9 for r in counted]
    failures = Counter(failure_kind(r.error) for r in counted if not r.ok)
    rejected = sum(1 for r in counted if r.status in REJECTED_STATUSES or "connection refused" in r.error)
    served = [r.as_record() for r in step.requests if r.ok and r.enter_ns is not None]
    # the server's CPU inside the counted window only: handlers that ran in it, warm-up or not
    cpu = server_cpu_s([r.as_record() for r in step.requests if r.ok and start is not None and end is not None
                        and r.enter_ns is not None and r.exit_ns is not None
                        and start <= r.enter_ns and r.exit_ns <= end])  # fmt: skip
    scheduled = len(counted)
    late = sum(1 for r in counted if r.late)
    quantiles = {name: percentile(latencies, p) for name, p in PERCENTILES}
    return {
        "server": step.server,
        "offered_rps": step.offered_rps,
        "status": step.status,
        "reason": step.reason,
        "duration_s": duration_s,
        "sent": sum(1 for r in counted if r.sent_ns is not None),
        "completed": sum(1 for r in counted if r.ok),
        "failed": sum(1 for r in counted if not r.ok),
        "rejected": rejected,
        "failures": dict(failures),
        "achieved_rps": len(in_window) / duration_s if duration_s else None,
        "timed_out": sum(1 for r in counted if r.timed_out),
        "protocols": dict(Counter(r.proto for r in counted if r.proto)),
        **quantiles,
        "max_s": max(latencies) if latencies else None,
        "late_sends": late,
        "client_lagged": scheduled > 0 and late / scheduled > CLIENT_LAG_MAX,
        "max_in_flight": max_in_flight(served) if served else None,
        "server_cpu_cores": cpu / duration_s if cpu is not None and duration_s else None,
        "server_cpu_per_request_s": cpu / len(in_window) if cpu is not None and in_window else None,
        "client_cpu_s": (s.get("counted_cpu_ns") or 0) / 1e9,
        "client_cpu_cores": (s.get("counted_cpu_ns") or 0) / 1e9 / duration_s if duration_s else None,
        "delay_s": delay_s,
    }
