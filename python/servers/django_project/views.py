"""The one view every Django setup serves (C11: same code, served five ways)."""

from __future__ import annotations

import time

from django.http import HttpRequest, JsonResponse

from evidence import DELAY_S, HEALTH, now_ns, reply


def process_request(request: HttpRequest) -> JsonResponse:
    """A plain ``def`` view that holds the request for D, as the article's."""
    enter = now_ns()
    time.sleep(DELAY_S)
    return JsonResponse(reply(request.GET.get("client", ""), enter, f"{__name__}.process_request"))


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse(HEALTH)
