"""``harness serve``: one real server in the foreground, stopped cleanly by Ctrl-C."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import harness_serve, processes_of_run

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("server", ["go-nethttp", "django-runserver", "gunicorn-workers5"])
def test_serve_answers_and_stops_on_ctrl_c(server: str) -> None:
    run_id = f"serve-{uuid.uuid4().hex[:8]}"
    with harness_serve(server, 0.05, run_id) as url:
        body = httpx.get(url, params={"client": "A"}, trust_env=False, timeout=10).json()
        assert (body["hello"], body["client"]) == ("world", "A")
        assert processes_of_run(run_id)  # the server runs under this run's id
