"""The article's scenario from Python: N named GETs per batch, three ways.

``async``: one ``httpx.AsyncClient`` and ``asyncio.gather`` (the goroutines'
equivalent); ``threads``: one thread per request sharing one ``httpx.Client``;
``sequential``: one request after another, the naive baseline. Output matches the
Go client: one JSON line per batch on stdout, then ``!! main took <d>``.

httpx is imported once and the client is reused across batches, so batch timings
measure requests, not interpreter start-up; the first batch is the harness's
warm-up. The pool allows one connection per client, and the timeout is the
harness's (httpx's 5 s default would cut a serial batch short).

Start-up is kept short because every pairing starts one client process: each mode
imports only what it uses, and two things httpx does at start that this client
never needs are skipped (see ``_options`` and the ``httpx._main`` line below).
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any

# httpx imports its command-line client when it is imported (click, rich and
# pygments, all installed here for uvicorn and the harness): ~65 ms of every client
# start, measured. A missing module makes httpx fall back to a stub, as it does
# when those packages are not installed.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

from evidence import CLOCK_NAME, client_names, now_ns  # noqa: E402


def _result(name: str, sent_ns: int, response: httpx.Response | None, error: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"name": name, "sent_ns": sent_ns, "recv_ns": now_ns(), "status": 0}
    if response is not None:
        result["status"] = response.status_code
        try:
            result["body"] = response.json()
        except ValueError as exc:
            error = f"body is not JSON: {exc}: {response.text[:200]!r}"
    if error:
        result["error"] = error
    return result


def _get(client: httpx.Client, url: str, name: str) -> dict[str, Any]:
    sent = now_ns()
    try:
        return _result(name, sent, client.get(url, params={"client": name}), None)
    except httpx.HTTPError as exc:
        return _result(name, sent, None, f"{type(exc).__name__}: {exc}")


async def _aget(client: httpx.AsyncClient, url: str, name: str) -> dict[str, Any]:
    sent = now_ns()
    try:
        return _result(name, sent, await client.get(url, params={"client": name}), None)
    except httpx.HTTPError as exc:
        return _result(name, sent, None, f"{type(exc).__name__}: {exc}")


def _emit(n: int, names: list[str], start: float, start_ns: int, results: list[dict[str, Any]]) -> None:
    line = {
        "batch": n,
        "clients": len(names),
        "start_ns": start_ns,
        "end_ns": now_ns(),
        "wall_s": time.perf_counter() - start,
        "clock": CLOCK_NAME,
        "requests": results,
    }
    print(json.dumps(line), flush=True)


def _options(clients: int, timeout: float) -> dict[str, Any]:
    return {
        "timeout": httpx.Timeout(timeout),
        "limits": httpx.Limits(max_connections=clients, max_keepalive_connections=clients),
        "trust_env": False,  # HTTP_PROXY must never reroute 127.0.0.1
        # Plain HTTP only: a TLS context without certifi's CA bundle (loading it took
        # ~25-50 ms per client start); it would refuse any TLS peer, never trust it.
        "verify": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
    }


def run_async(url: str, names: list[str], batches: int, timeout: float) -> None:
    import asyncio

    async def main() -> None:
        async with httpx.AsyncClient(**_options(len(names), timeout)) as client:
            for n in range(batches):
                start, start_ns = time.perf_counter(), now_ns()
                results = await asyncio.gather(*(_aget(client, url, s) for s in names))
                _emit(n, names, start, start_ns, list(results))

    asyncio.run(main())


def run_threads(url: str, names: list[str], batches: int, timeout: float) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(**_options(len(names), timeout)) as client, ThreadPoolExecutor(len(names)) as pool:
        for n in range(batches):
            start, start_ns = time.perf_counter(), now_ns()
            futures = [pool.submit(_get, client, url, s) for s in names]
            _emit(n, names, start, start_ns, [f.result() for f in futures])


def run_sequential(url: str, names: list[str], batches: int, timeout: float) -> None:
    with httpx.Client(**_options(len(names), timeout)) as client:
        for n in range(batches):
            start, start_ns = time.perf_counter(), now_ns()
            _emit(n, names, start, start_ns, [_get(client, url, s) for s in names])


MODES: dict[str, Callable[[str, list[str], int, float], Any]] = {
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
    args = parser.parse_args(argv)
    if args.clients < 1 or args.batches < 1:
        parser.error("--clients and --batches must be at least 1")
    start = time.perf_counter()
    MODES[args.mode](args.url, client_names(args.clients), args.batches, args.timeout)
    print(f"!! main took {time.perf_counter() - start:.6f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
