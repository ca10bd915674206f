"""The endpoints' evidence, from real servers and real clients: which connection
carried each request (``peer_port``), the processes' CPU time, and the clients'
connection policy (``reuse`` keeps the warm-up's connections, ``fresh`` opens one per
request). Every client runs from its catalog template, as the runner starts it."""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness.core import gobuild
from harness.core.catalog import CATALOG
from harness.core.childenv import child_env
from harness.core.gobuild import GoBuild
from harness.core.paths import CACHE_DIR, GO_DIR, PYTHON_DIR
from harness.core.serving import RunningServer, base_values, fill, running_server

pytestmark = pytest.mark.integration

D = 0.05
N = 5
BATCHES = 3
CLIENTS = ["go-goroutines", "httpx-async", "httpx-threads", "httpx-sequential"]


@pytest.fixture(scope="module")
def go() -> GoBuild:
    return gobuild.build(GO_DIR, CACHE_DIR / "go")


@pytest.fixture(scope="module", params=["go-nethttp", "fastapi-async"])
def server(
    request: pytest.FixtureRequest, go: GoBuild, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    spec = CATALOG.servers_by_name[request.param]
    with running_server(spec, delay_s=D, logs_dir=tmp_path_factory.mktemp("logs"), go=go) as running:
        yield running


def run_client(go: GoBuild, client: str, url: str, connections: str) -> list[dict[str, Any]]:
    """The client's batch lines, run from its catalog template."""
    values = base_values(go) | {
        "url": url,
        "clients": N,
        "batches": BATCHES,
        "timeout": "30",
        "connections": connections,
    }
    proc = subprocess.run(
        fill(CATALOG.clients_by_name[client].command, values),
        cwd=PYTHON_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [b["batch"] for b in lines] == list(range(BATCHES)), proc.stdout[-2000:]
    return lines


def ports_by_batch(lines: list[dict[str, Any]]) -> list[list[int]]:
    ports = []
    for batch in lines:
        for r in batch["requests"]:
            assert r["status"] == 200 and "error" not in r, r
        ports.append([r["body"]["peer_port"] for r in batch["requests"]])
    return ports


def check_evidence(lines: list[dict[str, Any]], connections: str) -> None:
    for batch in lines:
        assert batch["connections"] == connections
        assert batch["clock"] == "monotonic"
        assert isinstance(batch["cpu_ns"], int) and batch["cpu_ns"] > 0, batch
        for r in batch["requests"]:
            body = r["body"]
            assert isinstance(r["server_closed"], bool)
            assert isinstance(body["peer_port"], int) and 0 < body["peer_port"] < 65536
            assert isinstance(body["cpu_enter_ns"], int) and isinstance(body["cpu_exit_ns"], int)
            assert 0 < body["cpu_enter_ns"] <= body["cpu_exit_ns"], body


@pytest.mark.parametrize("client", CLIENTS)
def test_reuse_keeps_the_warmup_connections(go: GoBuild, server: RunningServer, client: str) -> None:
    lines = run_client(go, client, server.url, "reuse")
    check_evidence(lines, "reuse")
    first, *later = ports_by_batch(lines)
    # the concurrent clients open one connection per request; the sequential one needs one
    assert len(set(first)) == (1 if client == "httpx-sequential" else N), first
    for ports in later:
        assert set(ports) == set(first), (first, later)  # the warm-up's connections, no new one
    assert not any(r["server_closed"] for b in lines for r in b["requests"])


@pytest.mark.parametrize("client", CLIENTS)
def test_fresh_opens_a_connection_per_request(go: GoBuild, server: RunningServer, client: str) -> None:
    lines = run_client(go, client, server.url, "fresh")
    check_evidence(lines, "fresh")
    ports = [p for batch in ports_by_batch(lines) for p in batch]
    assert len(set(ports)) == len(ports) == N * BATCHES, ports


def assert_peer_port_is_the_clients(url: str) -> None:
    """The reply's ``peer_port`` is the port the client's own socket is bound to."""
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=10)
    try:
        conn.request("GET", "/?client=A")
        assert conn.sock is not None
        port = conn.sock.getsockname()[1]  # before the answer: a server that closes drops the socket
        assert json.loads(conn.getresponse().read())["peer_port"] == port
    finally:
        conn.close()


def test_peer_port_is_the_clients_port(server: RunningServer) -> None:
    assert_peer_port_is_the_clients(server.url)


@pytest.mark.parametrize(
    ("name", "closes"),
    [("django-runserver", False), ("gunicorn-default", True), ("django-asgi-async", False)],
)
def test_django_reports_the_peer_port(go: GoBuild, tmp_path: Path, name: str, closes: bool) -> None:
    """``REMOTE_PORT`` from each source: the manage.py patch (runserver), gunicorn's
    environ, Django's ASGIRequest. gunicorn's sync worker answers ``Connection: close``,
    so even a reusing client opens a new connection for every request."""
    with running_server(CATALOG.servers_by_name[name], delay_s=D, logs_dir=tmp_path, go=go) as running:
        assert_peer_port_is_the_clients(running.url)
        lines = run_client(go, "go-goroutines", running.url, "reuse")
    check_evidence(lines, "reuse")
    assert {r["server_closed"] for b in lines for r in b["requests"]} == {closes}
    ports = [p for batch in ports_by_batch(lines) for p in batch]
    assert len(set(ports)) == (N * BATCHES if closes else N), ports


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{go_client}", "-connections", "keep"], 'client: -connections must be reuse or fresh, got "keep"'),
        (
            ["{python}", "-m", "clients.httpx_client", "--mode", "async", "--connections", "keep"],
            "argument --connections: invalid choice: 'keep'",
        ),
    ],
)
def test_a_bad_connection_policy_is_a_usage_error(go: GoBuild, argv: list[str], message: str) -> None:
    proc = subprocess.run(
        fill(tuple(argv), base_values(go)),
        cwd=PYTHON_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert message in proc.stderr.strip().splitlines()[-1], proc.stderr
