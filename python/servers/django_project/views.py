"""The views of the Django setups.

``process_request`` is the one plain ``def`` view every WSGI setup serves (C11:
same code, served five ways). ``process_request_async`` is its ``async def`` twin
for Django under an ASGI server, awaiting its wait.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

import work
from evidence import HEALTH, now_ns, reply


def process_request(request: HttpRequest) -> JsonResponse:
    """A plain ``def`` view that holds the request for D, as the article's."""
    enter = now_ns()
    work.hold()
    return JsonResponse(reply(request.GET.get("client", ""), enter, f"{__name__}.process_request"))


async def process_request_async(request: HttpRequest) -> JsonResponse:
    """An ``async def`` view that awaits its wait (computing blocks the loop)."""
    enter = now_ns()
    await work.hold_async()
    return JsonResponse(reply(request.GET.get("client", ""), enter, f"{__name__}.process_request_async"))


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse(HEALTH)
