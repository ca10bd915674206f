"""The article's scenario from Python: N named GETs per batch, three ways.

``async``: one ``httpx.AsyncClient`` and ``asyncio.gather`` (the goroutines'
equivalent); ``threads``: one thread per request sharing one ``httpx.Client``;
``sequential``: one request after another, the naive baseline. Output matches the
Go client: one JSON line per batch on stdout, then ``!! main took <d>``.

httpx is imported once and the client is reused across batches, so batch timings
measure requests, not interpreter start-up; the first batch is the harness's
warm-up. The pool allows one connection per client, and the timeout is the
harness's (httpx's 5 s default would cut a serial batch short).

``--connections`` is the policy every client shares (the Go client's
``-connections``): ``reuse`` keeps the warm-up batch's N connections for every later
batch (no keep-alive expiry: httpx's 5 s default would drop connections a slow
batch left idle); ``fresh`` opens a new connection for every request and closes it
after the response, as the article's program, a new process per run, does.

Every request carries ``Concurrency-Evidence: 1``, which asks a server with the
evidence middleware (``middleware/``) for its stamps; the answer's
``Concurrency-Evidence`` header, when there is one, is passed on raw as
``evidence_header``. ``HARNESS_REQUEST`` (JSON, set by the harness for a user's
endpoint, see ``harness/core/request.py``) replaces the article's
``GET URL?client=NAME``: the URL as given, its method, headers and body; any status
is reported (the harness judges it) and the body need not be JSON.

Start-up is kept short because every pairing starts one client process: each mode
imports only what it uses, and two things httpx does at start that this client
never needs are skipped (see ``_options`` and the ``httpx._main`` line below).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

# httpx imports its command-line client when it is imported (click, rich and
# pygments, all installed here for uvicorn and the harness): ~65 ms of every client
# start, measured. A missing module makes httpx fall back to a stub, as it does
# when those packages are not installed.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

from evidence import CLOCK_NAME, client_names, cpu_ns, now_ns  # noqa: E402

CONNECTIONS = ("reuse", "fresh")


EVIDENCE_HEADER = "Concurrency-Evidence"


class Endpoint(NamedTuple):
    """A user's endpoint (``HARNESS_REQUEST``): what every request sends."""

    method: str
    headers: dict[str, str]
    body: bytes | None


def endpoint_from_env() -> Endpoint | None:
    raw = os.environ.get("HARNESS_REQUEST")
    if not raw:
        return None
    spec = json.loads(raw)
    body = Path(spec["body_file"]).read_bytes() if spec.get("body_file") else None
    return Endpoint(spec.get("method", "GET"), {k: v for k, v in spec.get("headers", [])}, body)


class Run(NamedTuple):
    """One client process's settings: what every mode needs."""

    url: str
    names: list[str]
    batches: int
    timeout: float
    connections: str
    endpoint: Endpoint | None = None
    stagger_s: float = 0.0
    """``HARNESS_STAGGER_S``: request i of a batch is sent i x this after the first
    (a catalog server that counts open connections, see ``ServerSpec.client_stagger_s``)."""
    http: str = "1.1"
    """``2``: HTTP/2 with prior knowledge over http:// (h2c), the N requests as N streams of one connection."""


def _server_closed(response: httpx.Response) -> bool:
    """The answer said the server closes the connection after it (Go's ``resp.Close``):
    ``Connection: close``, or HTTP/1.0 without ``keep-alive``."""
    tokens = {t.strip().lower() for t in response.headers.get("connection", "").split(",")}
    return "close" in tokens or (response.http_version == "HTTP/1.0" and "keep-alive" not in tokens)


MAX_PASSED_BODY = 64 * 1024
"""A user's endpoint's JSON body is passed on (for evidence fields) only up to this size."""


def _result(
    name: str, sent_ns: int, response: httpx.Response | None, error: str | None, endpoint: Endpoint | None
) -> dict[str, Any]:
    result: dict[str, Any] = {"name": name, "sent_ns": sent_ns, "recv_ns": now_ns(), "status": 0}
    result["server_closed"] = False
    if response is not None:
        result["status"] = response.status_code
        result["server_closed"] = _server_closed(response)
        result["http_version"] = response.http_version  # what the server answered with
        if (header := response.headers.get(EVIDENCE_HEADER)) is not None:
            result["evidence_header"] = header
        if endpoint is None or len(response.content) <= MAX_PASSED_BODY:  # else not the harness's business
            try:
                result["body"] = response.json()
            except ValueError as exc:
                if endpoint is None:  # only the article's answer must be JSON
                    error = f"body is not JSON: {exc}: {response.text[:200]!r}"
    if error:
        result["error"] = error
    return result


def _request(url: str, name: str, endpoint: Endpoint | None) -> dict[str, Any]:
    """The arguments of one request: the article's GET ?client=NAME, or the user's endpoint."""
    if endpoint is None:
        return {"method": "GET", "url": url, "params": {"client": name}, "headers": {EVIDENCE_HEADER: "1"}}
    headers = dict(endpoint.headers)
    if not any(k.lower() == EVIDENCE_HEADER.lower() for k in headers):
        headers[EVIDENCE_HEADER] = "1"
    return {"method": endpoint.method, "url": url, "headers": headers, "content": endpoint.body}


def _get(client: httpx.Client, run: Run, name: str, index: int = 0) -> dict[str, Any]:
    if run.stagger_s:
        time.sleep(index * run.stagger_s)
    sent = now_ns()
    try:
        return _result(name, sent, client.request(**_request(run.url, name, run.endpoint)), None, run.endpoint)
    except httpx.HTTPError as exc:
        return _result(name, sent, None, f"{type(exc).__name__}: {exc}", run.endpoint)


async def _aget(client: httpx.AsyncClient, run: Run, name: str, index: int = 0) -> dict[str, Any]:
    if run.stagger_s:
        import asyncio

        await asyncio.sleep(index * run.stagger_s)
    sent = now_ns()
    try:
        response = await client.request(**_request(run.url, name, run.endpoint))
        return _result(name, sent, response, None, run.endpoint)
    except httpx.HTTPError as exc:
        return _result(name, sent, None, f"{type(exc).__name__}: {exc}", run.endpoint)


class Batch:
    """Times one batch: wall clock and this process's CPU time (all threads), from
    before the first request to after the last response."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.start, self.start_ns, self.cpu_start_ns = time.perf_counter(), now_ns(), cpu_ns()

    def emit(self, run: Run, results: list[dict[str, Any]]) -> None:
        cpu_used_ns = cpu_ns() - self.cpu_start_ns
        line = {
            "batch": self.n,
            "clients": len(run.names),
            "start_ns": self.start_ns,
            "end_ns": now_ns(),
            "wall_s": time.perf_counter() - self.start,
            "cpu_ns": cpu_used_ns,
            "clock": CLOCK_NAME,
            "connections": run.connections,
            "requests": results,
        }
        print(json.dumps(line), flush=True)


def _options(run: Run) -> dict[str, Any]:
    clients = len(run.names)
    h2 = {"http1": False, "http2": True} if run.http == "2" else {}
    if run.connections == "fresh" and h2:
        # fresh over HTTP/2: the batch's streams share one connection, closed once it
        # is idle (no keep-alive); "Connection: close" is not allowed in HTTP/2.
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
        headers: dict[str, str] = {}
    elif run.connections == "reuse":
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=None)
        headers = {}
    else:
        # fresh: the pool keeps no idle connection, so each one is closed once its
        # response is read; "Connection: close" (what Go's DisableKeepAlives sends)
        # tells the server so too, and every client sends the same request.
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
        headers = {"Connection": "close"}
    return {
        "timeout": httpx.Timeout(run.timeout),
        "limits": limits,
        "headers": headers,
        "trust_env": False,  # HTTP_PROXY must never reroute 127.0.0.1
        # Plain HTTP only: a TLS context without certifi's CA bundle (loading it took
        # ~25-50 ms per client start); it would refuse any TLS peer, never trust it.
        "verify": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
        **h2,  # http1=False, http2=True over http:// is prior knowledge (httpcore)
    }


def run_async(run: Run) -> None:
    import asyncio

    async def main() -> None:
        async with httpx.AsyncClient(**_options(run)) as client:
            for n in range(run.batches):
                batch = Batch(n)
                results = await asyncio.gather(*(_aget(client, run, s, i) for i, s in enumerate(run.names)))
                batch.emit(run, list(results))

    asyncio.run(main())


def run_threads(run: Run) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(**_options(run)) as client, ThreadPoolExecutor(len(run.names)) as pool:
        for n in range(run.batches):
            batch = Batch(n)
            futures = [pool.submit(_get, client, run, s, i) for i, s in enumerate(run.names)]
            batch.emit(run, [f.result() for f in futures])


def run_sequential(run: Run) -> None:
    with httpx.Client(**_options(run)) as client:
        for n in range(run.batches):
            batch = Batch(n)
            batch.emit(run, [_get(client, run, s) for s in run.names])


MODES: dict[str, Callable[[Run], Any]] = {
    "async": run_async,
    "threads": run_threads,
    "sequential": run_sequential,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), required=True)
    parser.add_argument("--url", default="http://localhost:8000/")
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds, per request")
    parser.add_argument(
        "--connections",
        choices=CONNECTIONS,
        default="reuse",
        help="reuse: keep connections across batches; fresh: a new connection per request",
    )
    parser.add_argument("--http", choices=("1.1", "2"), default="1.1", help="2: h2c with prior knowledge")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.batches < 1:
        parser.error("--clients and --batches must be at least 1")
    start = time.perf_counter()
    stagger = float(os.environ.get("HARNESS_STAGGER_S") or 0)
    run = Run(args.url, client_names(args.clients), args.batches, args.timeout, args.connections,
              endpoint_from_env(), stagger, args.http)  # fmt: skip
    MODES[args.mode](run)
    print(f"!! main took {time.perf_counter() - start:.6f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
