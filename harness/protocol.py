"""The line protocol between a client process and the harness, and the checks.

A client prints one JSON object per batch (see ``go/client`` and
``python/clients``); anything else it prints is ignored. Every response is checked
here, in one place for all clients: status 200, the article's JSON
(``hello``, ``client`` echoing the name sent) and the evidence fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.errors import ClientError
from harness.model import RequestRecord

EVIDENCE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "pid": int,
    "thread": str,
    "enter_ns": int,
    "exit_ns": int,
    "handler": str,
}


@dataclass(frozen=True)
class BatchLine:
    batch: int
    wall_s: float
    requests: tuple[RequestRecord, ...]


def check_body(name: str, status: int, body: Any) -> str | None:
    """Why this response is not the expected one, or ``None`` when it is."""
    if status != 200:
        return f"HTTP status {status}"
    if not isinstance(body, dict):
        return f"body is not a JSON object: {str(body)[:120]!r}"
    if not isinstance(body.get("hello"), str):
        return 'body has no "hello" string'
    if body.get("client") != name:
        return f"body echoes client {body.get('client')!r}, expected {name!r}"
    for key, kind in EVIDENCE_FIELDS.items():
        if not isinstance(body.get(key), kind) or isinstance(body.get(key), bool):
            return f"body has no {key!r} evidence field"
    return None


def request_record(raw: dict[str, Any]) -> RequestRecord:
    name = str(raw.get("name", "?"))
    status = int(raw.get("status") or 0)
    body = raw.get("body")
    error = raw.get("error") or check_body(name, status, body)
    evidence = {k: body.get(k) for k in EVIDENCE_FIELDS} if isinstance(body, dict) and not error else {}
    return RequestRecord(
        name=name,
        error=error,
        status=status,
        sent_ns=int(raw.get("sent_ns", 0)),
        recv_ns=int(raw.get("recv_ns", 0)),
        **evidence,
    )


def parse_batch_line(line: str, *, client: str, clients: int) -> BatchLine:
    """Parse one batch line; malformed output raises ``ClientError``."""
    try:
        data = json.loads(line)
        requests = tuple(request_record(r) for r in data["requests"])
        batch = BatchLine(batch=int(data["batch"]), wall_s=float(data["wall_s"]), requests=requests)
        clocks = {r["body"].get("clock") for r in data["requests"] if isinstance(r.get("body"), dict)}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ClientError(f"{client} printed a malformed batch line ({exc}): {line[:200]!r}") from exc
    if len(clocks - {None}) > 1:
        # in-flight counts compare enter/exit stamps across processes: one clock or none
        raise ClientError(f"{client}: the server's answers were stamped on different clocks {sorted(clocks - {None})}")
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
