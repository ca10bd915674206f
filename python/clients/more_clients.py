"""The code most Python programs use to "send these at once", as harness clients.

``requests-threads``: one ``requests.Session`` shared by a ``ThreadPoolExecutor`` of
N, its ``HTTPAdapter`` pool sized N; ``aiohttp-async``: one ``aiohttp.ClientSession``
with ``TCPConnector(limit=N)`` and ``asyncio.gather``. Both speak HTTP/1.1 only.

Same protocol as ``clients.httpx_client`` (one JSON line per batch, then
``!! main took``), same ``--connections`` policy (``reuse``: the warm-up's N
connections kept; ``fresh``: ``Connection: close`` and a new connection per
request), every request with ``Concurrency-Evidence: 1``, the answer's header
passed on raw. Each mode imports only its own library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from evidence import CLOCK_NAME, client_names, cpu_ns, now_ns

EVIDENCE_HEADER = "Concurrency-Evidence"
MAX_PASSED_BODY = 64 * 1024


class Run(NamedTuple):
    url: str
    names: list[str]
    batches: int
    timeout: float
    connections: str
    stagger_s: float = 0.0
    """``HARNESS_STAGGER_S``: request i of a batch is sent i x this after the first
    (a catalog server that counts open connections, see ``ServerSpec.client_stagger_s``)."""


class Answer(NamedTuple):
    """What every library's response is reduced to."""

    status: int
    headers: dict[str, str]
    """Lower-cased names."""
    http_version: str
    body: bytes


def _endpoint() -> dict[str, Any] | None:
    """A user's endpoint (``HARNESS_REQUEST``, see ``harness/core/request.py``)."""
    raw = os.environ.get("HARNESS_REQUEST")
    if not raw:
        return None
    spec = json.loads(raw)
    body = Path(spec["body_file"]).read_bytes() if spec.get("body_file") else None
    return {"method": spec.get("method", "GET"), "headers": dict(spec.get("headers", [])), "body": body}


ENDPOINT = _endpoint()


def request_of(run: Run, name: str) -> tuple[str, str, dict[str, str], bytes | None]:
    """Method, URL, headers and body: the article's GET ?client=NAME, or the user's endpoint."""
    closing = {"Connection": "close"} if run.connections == "fresh" else {}
    if ENDPOINT is None:
        sep = "&" if "?" in run.url else "?"
        return "GET", f"{run.url}{sep}client={name}", {EVIDENCE_HEADER: "1", **closing}, None
    headers = dict(ENDPOINT["headers"])
    if not any(k.lower() == EVIDENCE_HEADER.lower() for k in headers):
        headers[EVIDENCE_HEADER] = "1"
    return ENDPOINT["method"], run.url, {**headers, **closing}, ENDPOINT["body"]


def result(name: str, sent_ns: int, answer: Answer | None, error: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "sent_ns": sent_ns, "recv_ns": now_ns(), "status": 0, "server_closed": False}
    if answer is not None:
        out["status"] = answer.status
        out["http_version"] = answer.http_version
        tokens = {t.strip().lower() for t in answer.headers.get("connection", "").split(",")}
        out["server_closed"] = "close" in tokens or (answer.http_version == "HTTP/1.0" and "keep-alive" not in tokens)
        if (header := answer.headers.get(EVIDENCE_HEADER.lower())) is not None:
            out["evidence_header"] = header
        if ENDPOINT is None or len(answer.body) <= MAX_PASSED_BODY:
            try:
                out["body"] = json.loads(answer.body)
            except ValueError as exc:
                if ENDPOINT is None:
                    error = f"body is not JSON: {exc}: {answer.body[:200]!r}"
    if error:
        out["error"] = error
    return out


def emit(run: Run, n: int, start: tuple[float, int, int], results: list[dict[str, Any]]) -> None:
    """One batch line: wall clock and this process's CPU time, first request to last response."""
    wall, start_ns, cpu = start
    line = {
        "batch": n, "clients": len(run.names), "start_ns": start_ns, "end_ns": now_ns(),
        "wall_s": time.perf_counter() - wall, "cpu_ns": cpu_ns() - cpu, "clock": CLOCK_NAME,
        "connections": run.connections, "requests": results,
    }  # fmt: skip
    print(json.dumps(line), flush=True)


def started() -> tuple[float, int, int]:
    return time.perf_counter(), now_ns(), cpu_ns()


def run_requests_threads(run: Run) -> None:
    """requests.Session shared by N threads; the adapter's pool holds N connections."""
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.trust_env = False  # HTTP_PROXY must never reroute 127.0.0.1
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=len(run.names), pool_block=True))

    def get(index: int, name: str) -> dict[str, Any]:
        time.sleep(index * run.stagger_s)
        method, url, headers, body = request_of(run, name)
        sent = now_ns()
        try:
            r = session.request(method, url, headers=headers, data=body, timeout=run.timeout)
            version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(r.raw.version, f"HTTP/{r.raw.version}")
            answer = Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, version, r.content)
            return result(name, sent, answer, None)
        except requests.RequestException as exc:
            return result(name, sent, None, f"{type(exc).__name__}: {exc}")

    with session, ThreadPoolExecutor(len(run.names)) as pool:
        for n in range(run.batches):
            start = started()
            emit(run, n, start, list(pool.map(get, range(len(run.names)), run.names)))


def run_aiohttp_async(run: Run) -> None:
    """One aiohttp.ClientSession, TCPConnector(limit=N), asyncio.gather."""
    import asyncio

    import aiohttp

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=len(run.names), force_close=run.connections == "fresh")
        timeout = aiohttp.ClientTimeout(total=run.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session:

            async def get(index: int, name: str) -> dict[str, Any]:
                await asyncio.sleep(index * run.stagger_s)
                method, url, headers, body = request_of(run, name)
                sent = now_ns()
                try:
                    async with session.request(method, url, headers=headers, data=body) as r:
                        content = await r.read()
                        version = f"HTTP/{r.version.major}.{r.version.minor}"
                        answer = Answer(r.status, {k.lower(): v for k, v in r.headers.items()}, version, content)
                    return result(name, sent, answer, None)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    return result(name, sent, None, f"{type(exc).__name__}: {exc}")

            for n in range(run.batches):
                start = started()
                emit(run, n, start, list(await asyncio.gather(*(get(i, s) for i, s in enumerate(run.names)))))

    asyncio.run(main())


MODES: dict[str, Callable[[Run], None]] = {
    "requests-threads": run_requests_threads,
    "aiohttp-async": run_aiohttp_async,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), required=True)
    parser.add_argument("--url", default="http://localhost:8000/")
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds, per request")
    parser.add_argument("--connections", choices=("reuse", "fresh"), default="reuse")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.batches < 1:
        parser.error("--clients and --batches must be at least 1")
    begin = time.perf_counter()
    stagger = float(os.environ.get("HARNESS_STAGGER_S") or 0)
    MODES[args.mode](Run(args.url, client_names(args.clients), args.batches, args.timeout, args.connections, stagger))
    print(f"!! main took {time.perf_counter() - begin:.6f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
