"""``compare --http 2`` for real, small: the h2c servers x the clients that speak it.

For each pairing the report gives the protocol the server answered with, the
connections per batch, in flight and threads; a client that speaks only HTTP/1.1
is left out with one line saying why."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import assert_none_left, harness

pytestmark = pytest.mark.integration

SERVERS = ("go-nethttp", "gunicorn-threads5-h2", "gunicorn-gevent-h2", "gunicorn-asgi-h2", "granian-asgi-h2",
           "hypercorn-asgi")  # fmt: skip
CLIENTS = ("go-goroutines", "httpx-async", "requests-threads")


def test_http2_reports_protocol_connections_in_flight_and_threads(tmp_path: Path) -> None:
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    proc = harness("compare", "--http", "2", "--servers", ",".join(SERVERS), "--client-impls", ",".join(CLIENTS),
                   "--delay", "0.2", "--repeats", "1", "--out", str(tmp_path), run_id=run_id, timeout=300)  # fmt: skip
    said = proc.stdout + proc.stderr  # the console's lines go to stderr
    assert "--http 2: requests-threads left out: requests (urllib3 2) speaks HTTP/1.1 only" in said
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["settings"]["http"] == "2"
    rows = {(p["server"], p["client"]): p for p in report["pairings"]}
    assert set(rows) == {(s, c) for s in SERVERS for c in CLIENTS[:2]}
    for key, p in rows.items():
        assert p["status"] == "ok", (key, p["reason"])
        assert p["protocol"] == "HTTP/2", key  # none of these fell back to HTTP/1.1
        assert p["new_connections"] in (0, None), key  # reused: the warm-up's one connection
        assert p["max_in_flight"] >= 1 and p["threads"] >= 1, key
    for client in CLIENTS[:2]:  # gunicorn's gevent worker takes one connection's streams in turn, its ASGI one at once
        assert rows[("gunicorn-gevent-h2", client)]["max_in_flight"] == 1
        assert rows[("gunicorn-asgi-h2", client)]["max_in_flight"] == 5
    warmups = [b for b in report["batches"] if b["warmup"]]
    assert all(b["new_connections"] in (1, None) for b in warmups)  # N streams, ONE connection
    assert {b["new_connections"] for b in warmups if b["server"] == "go-nethttp"} == {1}
    assert "| protocol" in (tmp_path / "report.md").read_text()
    assert_none_left(run_id)
