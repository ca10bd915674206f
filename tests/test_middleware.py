"""The evidence middleware (``middleware/concurrency_evidence.py``) called as a server
calls it, and the harness's reading of its header (``core.protocol``): evidence only
for a request that asks, nothing for one that does not, the operator's switch and
token, and one format that the Python and Go layers write and the harness reads."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from harness.core.protocol import parse_evidence_header, request_record
from harness.core.request import RequestSpec, parse_expect
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "middleware"))
import concurrency_evidence as ce

GO_HEADER = ("v=1;pid=4242;thread=g77;enter_ns=1000;exit_ns=501000;cpu_enter_ns=20;cpu_exit_ns=30;"
             "clock=monotonic;layer=go")  # fmt: skip
"""What ``go/evidencehttp`` writes (the same keys and order as its Fprintf calls)."""


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def asgi_call(app: Any, headers: list[tuple[bytes, bytes]], kind: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": kind, "headers": headers, "path": "/x", "method": "GET"}, receive, send))
    return sent


def start_headers(sent: list[dict[str, Any]]) -> dict[str, str]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    return {k.decode(): v.decode() for k, v in start["headers"]}


def test_asgi_answers_only_a_request_that_asks() -> None:
    app = ce.EvidenceMiddleware(_asgi_app, enabled=True)
    asked = start_headers(asgi_call(app, [(b"concurrency-evidence", b"1")]))
    fields, problem = parse_evidence_header(asked["concurrency-evidence"])
    assert problem is None and fields["thread"].startswith("t") and fields["handler"] == "asgi middleware"
    assert fields["exit_ns"] >= fields["enter_ns"] and asked["server-timing"].startswith("app;dur=")
    plain = start_headers(asgi_call(app, []))
    assert plain == {"content-type": "text/plain"}  # nothing added, nothing about pids or threads
    other = start_headers(asgi_call(app, [(b"concurrency-evidence", b"yes please")]))
    assert "concurrency-evidence" not in other


def test_the_operator_switches_it_off_or_sets_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCURRENCY_EVIDENCE", "off")
    off = ce.EvidenceMiddleware(_asgi_app)
    assert "concurrency-evidence" not in start_headers(asgi_call(off, [(b"concurrency-evidence", b"1")]))
    monkeypatch.delenv("CONCURRENCY_EVIDENCE")
    monkeypatch.setenv("CONCURRENCY_EVIDENCE_TOKEN", "s3cret")
    guarded = ce.EvidenceMiddleware(_asgi_app)
    assert "concurrency-evidence" not in start_headers(asgi_call(guarded, [(b"concurrency-evidence", b"1")]))
    assert "concurrency-evidence" in start_headers(asgi_call(guarded, [(b"concurrency-evidence", b"s3cret")]))


def test_asgi_passes_other_scopes_through() -> None:
    seen = []

    async def lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        await send({"type": "lifespan.startup.complete"})

    sent = asgi_call(ce.EvidenceMiddleware(lifespan_app), [(b"concurrency-evidence", b"1")], kind="lifespan")
    assert seen == ["lifespan"] and sent == [{"type": "lifespan.startup.complete"}]


def wsgi_call(app: Any, environ: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes]:
    from wsgiref.util import setup_testing_defaults

    setup_testing_defaults(environ)
    got: list[tuple[str, str]] = []

    def start_response(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
        got.extend(headers)
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return got, body


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_wsgi_answers_only_a_request_that_asks() -> None:
    app = ce.EvidenceWSGIMiddleware(_wsgi_app, enabled=True)
    headers, body = wsgi_call(app, {"HTTP_CONCURRENCY_EVIDENCE": "1"})
    found = dict(headers)
    fields, problem = parse_evidence_header(found["Concurrency-Evidence"])
    assert problem is None and fields["handler"] == "wsgi middleware" and body == b"ok"
    assert fields["gil_enabled"] is True and "Server-Timing" in found
    plain, _ = wsgi_call(app, {})
    assert plain == [("Content-Type", "text/plain")]


class _Request:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def test_django_middleware_sync_and_async() -> None:
    sync = ce.DjangoEvidenceMiddleware(lambda request: {"Server-Timing": "db;dur=5"})
    response = sync(_Request({"Concurrency-Evidence": "1"}))
    assert "layer=django" in response["Concurrency-Evidence"]
    assert response["Server-Timing"].startswith("db;dur=5, app;dur=")  # beside the app's own entry
    assert sync(_Request({})) == {"Server-Timing": "db;dur=5"}

    async def view(request: Any) -> dict[str, str]:
        return {}

    from asgiref.sync import iscoroutinefunction

    async_mw = ce.DjangoEvidenceMiddleware(view)
    assert iscoroutinefunction(async_mw)  # Django then calls it without a thread hop
    response = asyncio.run(async_mw(_Request({"Concurrency-Evidence": "1"})))
    assert parse_evidence_header(response["Concurrency-Evidence"])[1] is None
    assert asyncio.run(async_mw(_Request({}))) == {}


def test_the_go_format_is_read() -> None:
    fields, problem = parse_evidence_header(GO_HEADER)
    assert problem is None
    assert fields == {"pid": 4242, "thread": "g77", "enter_ns": 1000, "exit_ns": 501000, "cpu_enter_ns": 20,
                      "cpu_exit_ns": 30, "handler": "go middleware"}  # fmt: skip


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("v=1;pid=1;thread=t1;enter_ns=5;clock=monotonic;layer=asgi", "no exit_ns"),
        (GO_HEADER.replace("v=1", "v=2"), "version '2'"),
        (GO_HEADER.replace("pid=4242", "pid=x"), "pid='x' is not a whole number"),
        (GO_HEADER.replace("exit_ns=501000", "exit_ns=10"), "is before enter_ns"),
        ("", "no v, pid"),
    ],
)
def test_a_bad_header_is_named(value: str, problem: str) -> None:
    fields, found = parse_evidence_header(value)
    assert fields == {} and found is not None and problem in found


def test_the_header_is_read_before_the_body_and_a_users_status_decides() -> None:
    raw = {"name": "A", "status": 201, "sent_ns": 1, "recv_ns": 600000, "evidence_header": GO_HEADER,
           "body": {"order": 7}}  # fmt: skip
    spec = RequestSpec(expect=parse_expect("201"), expect_text="201")
    record = request_record(raw, evidence_required=False, request=spec)
    assert record.ok and record.pid == 4242 and record.thread == "g77" and record.enter_ns == 1000
    wrong = request_record(raw | {"status": 200}, evidence_required=False, request=spec)
    assert wrong.error == "HTTP status 200 (expected 201)" and wrong.pid is None
    broken = request_record(raw | {"evidence_header": "v=1"}, evidence_required=False, request=spec)
    assert broken.error is not None and broken.error.startswith("Concurrency-Evidence header: no pid")
    no_json = request_record({"name": "A", "status": 204, "sent_ns": 1, "recv_ns": 2}, evidence_required=False,
                             request=RequestSpec())  # fmt: skip
    assert no_json.ok and no_json.pid is None  # any body, or none, from a user's endpoint
