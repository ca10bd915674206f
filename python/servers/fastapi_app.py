"""FastAPI apps for the three FastAPI rows of the article (C3, C4, C5).

Each app has one path operation on ``/`` and differs only in how it holds the
request, which is the whole point: ``async def`` that awaits yields the event loop,
plain ``def`` runs in the threadpool, ``async def`` that blocks (``time.sleep``, or
any computation) holds the loop. ``work.hold*`` decides between waiting and CPU work.
``request.client`` is the connection's peer (host, port), from uvicorn's ASGI scope.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

import evidence
import work


def _app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return evidence.HEALTH

    return app


def _port(request: Request) -> int | None:
    return request.client.port if request.client else None


app_async = _app()
app_def = _app()
app_async_blocking = _app()


@app_async.get("/")
async def process_request_async(request: Request, client: str = "") -> dict[str, object]:
    stamp = evidence.enter()
    await work.hold_async()
    return evidence.reply(client, stamp, f"{__name__}.process_request_async", _port(request))


@app_def.get("/")
def process_request_def(request: Request, client: str = "") -> dict[str, object]:
    stamp = evidence.enter()
    work.hold()
    return evidence.reply(client, stamp, f"{__name__}.process_request_def", _port(request))


@app_async_blocking.get("/")
async def process_request_async_blocking(request: Request, client: str = "") -> dict[str, object]:
    stamp = evidence.enter()
    work.hold()  # time.sleep (or computing) blocks the event loop on purpose: the article's C5
    return evidence.reply(client, stamp, f"{__name__}.process_request_async_blocking", _port(request))
