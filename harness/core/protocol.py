"""The line protocol between a client process and the harness, and the checks.

A client prints one JSON object per batch (see ``go/client`` and
``python/clients``); anything else it prints is ignored. Every response is checked
here, in one place for all clients: status 200, the article's JSON
(``hello``, ``client`` echoing the name sent) and the evidence fields; for a
user's endpoint (``core.request.RequestSpec``), a status it expects.

The evidence comes from the response header ``Concurrency-Evidence`` when the
answer has it (the middleware in ``middleware/`` and ``go/evidencehttp``; a client
passes the header's raw value on as ``evidence_header``), else from the article's
JSON fields in the body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.core.errors import ClientError
from harness.core.records import RequestRecord
from harness.core.request import EVIDENCE_HEADER, RequestSpec

EVIDENCE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "pid": int,
    "thread": str,
    "enter_ns": int,
    "exit_ns": int,
    "handler": str,
}
OPTIONAL_EVIDENCE = ("peer_port", "cpu_enter_ns", "cpu_exit_ns")
"""Evidence every catalog server gives and the report uses when present: the
connection (peer port) and the process's CPU time at enter and exit."""

CLOCK_TOLERANCE_NS = 1_000_000
"""How far ``sent <= enter <= exit <= recv`` may be off (1 ms) before the clocks are
called different. Client and server stamp one system-wide clock, so a correct run
is off by nothing; a skew beyond this means the stamps cannot be compared."""


@dataclass(frozen=True)
class BatchLine:
    batch: int
    wall_s: float
    requests: tuple[RequestRecord, ...]
    cpu_s: float | None = None
    """The client's own CPU time during the batch, when it reports it (``cpu_ns``)."""
    connections: str = "reuse"


def check_body(name: str, status: int, body: Any, *, evidence_required: bool = True) -> str | None:
    """Why this response is not the expected one, or ``None`` when it is.

    ``evidence_required=False`` (a ``--target`` the harness did not start): the
    article's JSON is still required, but the client's name only has to come back
    where the server echoes one, and the evidence fields may be missing."""
    if status != 200:
        return f"HTTP status {status}"
    if not isinstance(body, dict):
        return f"body is not a JSON object: {str(body)[:120]!r}"
    if not isinstance(body.get("hello"), str):
        return 'body has no "hello" string'
    if body.get("client") != name and (evidence_required or "client" in body):
        return f"body echoes client {body.get('client')!r}, expected {name!r}"
    if evidence_required and (missing := missing_evidence(body)):
        return f"body has no {missing!r} evidence field"
    return None


def missing_evidence(body: dict[str, Any]) -> str | None:
    """The first evidence field ``body`` lacks (or gives with the wrong type), or ``None``."""
    for key, kind in EVIDENCE_FIELDS.items():
        if not isinstance(body.get(key), kind) or isinstance(body.get(key), bool):
            return key
    return None


def request_record(
    raw: dict[str, Any], *, evidence_required: bool = True, request: RequestSpec | None = None
) -> RequestRecord:
    """One request as a client reported it, checked. ``request``: a user's endpoint (its
    expected statuses decide), else the article's request (``check_body``)."""
    name = str(raw.get("name", "?"))
    status = int(raw.get("status") or 0)
    body = raw.get("body")
    header = raw.get("evidence_header")
    error = raw.get("error")
    if error is None and request is not None:
        error = None if request.accepts(status) else f"HTTP status {status} (expected {request.expect_text})"
    elif error is None:
        error = check_body(name, status, body, evidence_required=evidence_required and header is None)
    evidence: dict[str, Any] = {}
    if isinstance(header, str) and not error:
        evidence, problem = parse_evidence_header(header)
        error = f"{EVIDENCE_HEADER} header: {problem}" if problem else None
    elif isinstance(body, dict) and not error and not missing_evidence(body):
        evidence = body_evidence(body)
    return RequestRecord(
        name=name,
        error=error,
        status=status,
        sent_ns=int(raw.get("sent_ns", 0)),
        recv_ns=int(raw.get("recv_ns", 0)),
        server_closed=bool(raw.get("server_closed", False)),
        http_version=protocol_name(raw.get("http_version")),
        **evidence,
    )


def protocol_name(version: object) -> str | None:
    """A client's ``http_version`` in one spelling: Go says ``HTTP/2.0``, httpx ``HTTP/2``."""
    if not isinstance(version, str) or not version:
        return None
    return "HTTP/2" if version.upper().startswith("HTTP/2") else version.upper()


def body_evidence(body: dict[str, Any]) -> dict[str, Any]:
    """The evidence fields of an article's JSON answer (one that has them all)."""
    evidence = {k: body.get(k) for k in EVIDENCE_FIELDS}
    evidence |= {k: body[k] for k in OPTIONAL_EVIDENCE if _is_int(body.get(k))}
    if isinstance(body.get("gil_enabled"), bool):
        evidence["gil_enabled"] = body["gil_enabled"]
    return evidence


HEADER_VERSION = 1
HEADER_INTS = ("pid", "enter_ns", "exit_ns", "cpu_enter_ns", "cpu_exit_ns")
HEADER_REQUIRED = ("v", "pid", "thread", "enter_ns", "exit_ns", "clock", "layer")


def header_fields(value: str) -> dict[str, str]:
    """``k=v;k=v`` as a dict (the ``Concurrency-Evidence`` format, see ``middleware/concurrency_evidence.py``)."""
    fields = {}
    for part in value.split(";"):
        key, sep, val = part.strip().partition("=")
        if sep and key:
            fields[key.strip()] = val.strip()
    return fields


def parse_evidence_header(value: str) -> tuple[dict[str, Any], str | None]:
    """The evidence of one ``Concurrency-Evidence`` value, as ``RequestRecord`` fields, and what
    is wrong with it (``None`` when nothing). Keys it does not know are ignored."""
    fields = header_fields(value)
    if missing := [k for k in HEADER_REQUIRED if k not in fields]:
        return {}, f"no {', '.join(missing)} in {value[:200]!r}"
    if fields["v"] != str(HEADER_VERSION):
        return {}, f"version {fields['v']!r}, this harness reads version {HEADER_VERSION}"
    ints: dict[str, int] = {}
    for key in HEADER_INTS:
        if key in fields:
            try:
                ints[key] = int(fields[key])
            except ValueError:
                return {}, f"{key}={fields[key]!r} is not a whole number"
    evidence: dict[str, Any] = {
        **ints,
        "thread": fields["thread"],
        "handler": f"{fields['layer']} middleware",
    }
    if fields.get("gil") in ("0", "1"):
        evidence["gil_enabled"] = fields["gil"] == "1"
    if ints["exit_ns"] < ints["enter_ns"]:
        return {}, f"exit_ns {ints['exit_ns']} is before enter_ns {ints['enter_ns']}"
    return evidence, None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def clock_problem(requests: tuple[RequestRecord, ...], client_clock: str | None, server_clocks: set[str]) -> str | None:
    """Why the client's and the server's stamps cannot be put on one time line, or ``None``.

    Timelines and timings mix the client's ``sent``/``recv`` with the handlers'
    ``enter``/``exit``: that needs one clock, named the same by both sides, and
    every answered request in order ``sent <= enter <= exit <= recv`` (within
    ``CLOCK_TOLERANCE_NS``).
    """
    if server_clocks and client_clock is not None and server_clocks != {client_clock}:
        return f"the client stamps clock {client_clock!r} but the server stamps {sorted(server_clocks)}"
    tol = CLOCK_TOLERANCE_NS
    for r in requests:
        if not r.ok or r.enter_ns is None or r.exit_ns is None:
            continue
        if not (r.sent_ns - tol <= r.enter_ns <= r.exit_ns + tol and r.exit_ns <= r.recv_ns + tol):
            return (
                f"request {r.name} breaks sent <= enter <= exit <= recv by more than {tol / 1e6:g} ms "
                f"(sent {r.sent_ns}, enter {r.enter_ns}, exit {r.exit_ns}, recv {r.recv_ns} ns): "
                "client and server do not share a clock"
            )
    return None


def answer_clock(raw: dict[str, Any]) -> str | None:
    """The clock a server stamped one answer on: the evidence header's, else the body's."""
    if isinstance(header := raw.get("evidence_header"), str):
        return header_fields(header).get("clock")
    body = raw.get("body")
    return body.get("clock") if isinstance(body, dict) else None


def parse_batch_line(
    line: str,
    *,
    client: str,
    clients: int,
    evidence_required: bool = True,
    shared_clock: bool = True,
    request: RequestSpec | None = None,
) -> BatchLine:
    """Parse one batch line; malformed output raises ``ClientError``.

    ``shared_clock=False``: the server runs on another host, whose monotonic clock
    cannot be compared with the client's, so the order of the client's and the
    handlers' stamps is not checked (the handlers' own stamps still must share one clock)."""
    try:
        data = json.loads(line)
        requests = tuple(
            request_record(r, evidence_required=evidence_required, request=request) for r in data["requests"]
        )
        cpu_ns = data.get("cpu_ns")
        batch = BatchLine(
            batch=int(data["batch"]),
            wall_s=float(data["wall_s"]),
            requests=requests,
            cpu_s=int(cpu_ns) / 1e9 if cpu_ns is not None else None,
            connections=str(data.get("connections", "reuse")),
        )
        clocks = {c for r in data["requests"] if (c := answer_clock(r)) is not None}
        client_clock = data.get("clock")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ClientError(f"{client} printed a malformed batch line ({exc}): {line[:200]!r}") from exc
    if len(clocks) > 1:
        # in-flight counts compare enter/exit stamps across processes: one clock or none
        raise ClientError(f"{client}: the server's answers were stamped on different clocks {sorted(clocks)}")
    if shared_clock and (problem := clock_problem(requests, client_clock, clocks)):
        raise ClientError(f"{client}: {problem}")
    # The naming rule (A..Z, AA, ...) belongs to the clients; what the harness needs
    # is one request per client, each name once, and every answer echoing its name.
    names = {r.name for r in batch.requests}
    if len(batch.requests) != clients or len(names) != clients:
        raise ClientError(
            f"{client} reported {len(batch.requests)} requests ({len(names)} distinct names) for {clients} clients"
        )
    return batch


def is_batch_line(line: str) -> bool:
    return line.lstrip().startswith("{")
