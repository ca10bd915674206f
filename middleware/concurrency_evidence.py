"""Concurrency evidence for any Python web app: ASGI, WSGI and Django middleware.

One file, standard library only, no dependency on the harness that reads it: copy it
next to your app, or ``pip install ./middleware`` from the concurrency-compare repo.
Add one line:

* ASGI (FastAPI, Starlette, Django ASGI, any ASGI app)::

      from concurrency_evidence import EvidenceMiddleware
      app = EvidenceMiddleware(app)            # or FastAPI: app.add_middleware(EvidenceMiddleware)

* WSGI (Django WSGI, Flask, any WSGI app)::

      from concurrency_evidence import EvidenceWSGIMiddleware
      application = EvidenceWSGIMiddleware(application)

* Django (WSGI or ASGI), first in ``settings.MIDDLEWARE``::

      MIDDLEWARE = ["concurrency_evidence.DjangoEvidenceMiddleware", ...]

**Only when asked.** A request that carries the header ``Concurrency-Evidence: 1``
(every client of the harness sends it) gets two more response headers; every other
request passes through untouched, so nothing about processes or threads reaches
ordinary traffic. The operator switches it off with the environment variable
``CONCURRENCY_EVIDENCE=off`` (or ``enabled=False``), or restricts it to requests
that send a secret: ``CONCURRENCY_EVIDENCE_TOKEN=s3cret`` (or ``token=``) answers
only ``Concurrency-Evidence: s3cret`` (the harness: ``--header 'Concurrency-Evidence: s3cret'``).
Both are read once, when the middleware is made.

**What it records**, stamped by this process as the request enters the app and as
its response headers leave it (a streamed body may go on after):

``Concurrency-Evidence: v=1;pid=4242;thread=t4243;enter_ns=…;exit_ns=…;cpu_enter_ns=…;cpu_exit_ns=…;``
``clock=monotonic;gil=1;layer=asgi`` (one line)

=============  ===============================================================================
``v``          the format's version, 1
``pid``        the process that served the request (worker processes differ)
``thread``     ``t`` + the OS thread id that ran the middleware (ASGI: the event loop's thread;
               a ``def`` endpoint's threadpool thread is not seen; WSGI and Django: the worker thread)
``enter_ns``   when the request entered, ns on ``clock``
``exit_ns``    when the response headers left, ns on ``clock``
``cpu_*_ns``   this process's CPU time (user + system, all threads) at enter and exit
``clock``      ``monotonic`` (CLOCK_MONOTONIC: system-wide on Linux, so stamps of every process of
               the host, and the harness's client on that host, share one time line); ``realtime`` elsewhere
``gil``        1 when the interpreter runs with its GIL (always on a default build), 0 on a free-threaded one
``layer``      which wrapper stamped it: ``asgi``, ``wsgi`` or ``django``
=============  ===============================================================================

Pairs are ``key=value`` joined by ``;``; values hold no ``;``, ``,``, ``=`` or space;
readers ignore keys they do not know. The same hold time is also a W3C Server-Timing
entry, which browsers' developer tools show: ``Server-Timing: app;dur=500.123;desc="concurrency-evidence"``
(milliseconds; added beside any Server-Timing the app sets).

The harness (``python -m harness compare --target URL``) counts, over a batch of
requests sent at once, the most in flight at a time, the distinct processes and
threads, and the CPU the processes used: why the batch took 1 x or N x one request.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HEADER",
    "DjangoEvidenceMiddleware",
    "EvidenceMiddleware",
    "EvidenceWSGIMiddleware",
    "Stamp",
    "header_value",
]

HEADER = "Concurrency-Evidence"
"""The request header that asks for evidence, and the response header that carries it."""
SERVER_TIMING = "Server-Timing"
VERSION = 1
OFF_VALUES = frozenset({"0", "off", "false", "no"})
ENV_SWITCH = "CONCURRENCY_EVIDENCE"
ENV_TOKEN = "CONCURRENCY_EVIDENCE_TOKEN"

if sys.platform.startswith("linux"):
    CLOCK = "monotonic"

    def now_ns() -> int:
        return time.clock_gettime_ns(time.CLOCK_MONOTONIC)

else:  # pragma: no cover - the one clock every process of another OS agrees on
    CLOCK = "realtime"

    def now_ns() -> int:
        return time.time_ns()


def _gil_enabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


@dataclass(frozen=True)
class Stamp:
    """What the middleware reads as a request enters."""

    enter_ns: int
    cpu_enter_ns: int
    thread: str

    @classmethod
    def now(cls) -> Stamp:
        return cls(now_ns(), time.process_time_ns(), f"t{threading.get_native_id()}")


def header_value(stamp: Stamp, layer: str) -> tuple[str, str]:
    """The ``Concurrency-Evidence`` and ``Server-Timing`` values, stamped at exit now."""
    exit_ns, cpu_exit_ns = now_ns(), time.process_time_ns()
    fields = (
        ("v", VERSION),
        ("pid", os.getpid()),
        ("thread", stamp.thread),
        ("enter_ns", stamp.enter_ns),
        ("exit_ns", exit_ns),
        ("cpu_enter_ns", stamp.cpu_enter_ns),
        ("cpu_exit_ns", cpu_exit_ns),
        ("clock", CLOCK),
        ("gil", int(_gil_enabled())),
        ("layer", layer),
    )
    timing = f'app;dur={(exit_ns - stamp.enter_ns) / 1e6:.3f};desc="concurrency-evidence"'
    return ";".join(f"{k}={v}" for k, v in fields), timing


@dataclass(frozen=True)
class Switch:
    """Whether a request's ``Concurrency-Evidence`` header asks for evidence."""

    enabled: bool
    token: str | None

    @classmethod
    def of(cls, enabled: bool | None, token: str | None) -> Switch:
        if enabled is None:
            enabled = os.environ.get(ENV_SWITCH, "on").strip().lower() not in OFF_VALUES
        if token is None:
            token = os.environ.get(ENV_TOKEN) or None
        return cls(enabled, token)

    def asks(self, value: str | bytes | None) -> bool:
        if not self.enabled or value is None:
            return False
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        return text.strip() == (self.token if self.token is not None else "1")


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class EvidenceMiddleware:
    """Pure ASGI middleware: it touches only the ``http.response.start`` message of
    requests that ask, so streaming, lifespan and websockets pass through unchanged."""

    def __init__(self, app: ASGIApp, *, enabled: bool | None = None, token: str | None = None) -> None:
        self.app = app
        self.switch = Switch.of(enabled, token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or not self.switch.asks(_asgi_header(scope)):
            await self.app(scope, receive, send)
            return
        stamp = Stamp.now()

        async def send_with_evidence(message: Message) -> None:
            if message.get("type") == "http.response.start":
                evidence, timing = header_value(stamp, "asgi")
                headers = list(message.get("headers", ()))
                headers += [(HEADER.lower().encode(), evidence.encode()), (b"server-timing", timing.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_evidence)


def _asgi_header(scope: Scope) -> bytes | None:
    wanted = HEADER.lower().encode()
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return bytes(value)
    return None


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class EvidenceWSGIMiddleware:
    """WSGI middleware: stamps the request on entry and adds the headers when the app
    calls ``start_response`` (for Django and Flask, once the view has returned)."""

    def __init__(self, app: WSGIApp, *, enabled: bool | None = None, token: str | None = None) -> None:
        self.app = app
        self.switch = Switch.of(enabled, token)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self.switch.asks(environ.get("HTTP_" + HEADER.upper().replace("-", "_"))):
            return self.app(environ, start_response)
        stamp = Stamp.now()

        def start_with_evidence(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            evidence, timing = header_value(stamp, "wsgi")
            return start_response(status, [*headers, (HEADER, evidence), (SERVER_TIMING, timing)], *exc_info)

        return self.app(environ, start_with_evidence)


class DjangoEvidenceMiddleware:
    """Django middleware (``settings.MIDDLEWARE``, first entry): sync under WSGI, async
    under ASGI, as the rest of the stack is, so it never adds a thread hop."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.switch = Switch.of(None, None)
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction  # Django's own dependency

        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self._acall(request)
        if not self.switch.asks(request.headers.get(HEADER)):
            return self.get_response(request)
        stamp = Stamp.now()
        return _django_headers(self.get_response(request), stamp)

    async def _acall(self, request: Any) -> Any:
        if not self.switch.asks(request.headers.get(HEADER)):
            return await self.get_response(request)
        stamp = Stamp.now()
        return _django_headers(await self.get_response(request), stamp)


def _django_headers(response: Any, stamp: Stamp) -> Any:
    evidence, timing = header_value(stamp, "django")
    response[HEADER] = evidence
    response[SERVER_TIMING] = f"{response[SERVER_TIMING]}, {timing}" if SERVER_TIMING in response else timing
    return response
