"""The views of the Django setups.

``process_request`` is the one plain ``def`` view every WSGI setup serves (C11:
same code, served five ways). ``process_request_async`` is its ``async def`` twin
for Django under an ASGI server, awaiting its wait.

The peer port is ``REMOTE_PORT``: gunicorn puts it in the WSGI environ, Django's
``ASGIRequest`` sets it from the ASGI scope, and ``runserver`` gets it from the
patch in ``python/manage.py``.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

import evidence
import work


def process_request(request: HttpRequest) -> JsonResponse:
    """A plain ``def`` view that holds the request for D, as the article's."""
    stamp = evidence.enter()
    work.hold()
    return _reply(request, stamp, f"{__name__}.process_request")


async def process_request_async(request: HttpRequest) -> JsonResponse:
    """An ``async def`` view that awaits its wait (computing blocks the loop)."""
    stamp = evidence.enter()
    await work.hold_async()
    return _reply(request, stamp, f"{__name__}.process_request_async")


def _reply(request: HttpRequest, stamp: evidence.Stamp, handler: str) -> JsonResponse:
    client = request.GET.get("client", "")
    return JsonResponse(evidence.reply(client, stamp, handler, request.META.get("REMOTE_PORT")))


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse(evidence.HEALTH)
