"""FastAPI apps for the three FastAPI rows of the article (C3, C4, C5).

Each app has one path operation on ``/`` and differs only in how it holds the
request, which is the whole point: ``async def`` that awaits yields the event loop,
plain ``def`` runs in the threadpool, ``async def`` that blocks (``time.sleep``, or
any computation) holds the loop. ``work.hold*`` decides between waiting and CPU work.
"""

from __future__ import annotations

from fastapi import FastAPI

import work
from evidence import HEALTH, now_ns, reply


def _app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return HEALTH

    return app


app_async = _app()
app_def = _app()
app_async_blocking = _app()


@app_async.get("/")
async def process_request_async(client: str = "") -> dict[str, object]:
    enter = now_ns()
    await work.hold_async()
    return reply(client, enter, f"{__name__}.process_request_async")


@app_def.get("/")
def process_request_def(client: str = "") -> dict[str, object]:
    enter = now_ns()
    work.hold()
    return reply(client, enter, f"{__name__}.process_request_def")


@app_async_blocking.get("/")
async def process_request_async_blocking(client: str = "") -> dict[str, object]:
    enter = now_ns()
    work.hold()  # time.sleep (or computing) blocks the event loop on purpose: the article's C5
    return reply(client, enter, f"{__name__}.process_request_async_blocking")
