"""The clients beyond httpx (``requests-threads``, ``aiohttp-async``, ``httpx2-async``):
the harness's line protocol, the evidence header sent, the connection policy kept."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest

from harness.core.catalog import CATALOG
from harness.core.childenv import child_env
from harness.core.paths import PYTHON_DIR
from harness.core.protocol import is_batch_line, parse_batch_line
from harness.core.serving import base_values, fill
from tests.conftest import serve_in_thread

NEW = ("requests-threads", "aiohttp-async", "httpx2-async")


class Stamping(BaseHTTPRequestHandler):
    """The article's answer with its evidence fields, keeping connections open (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"
    asked: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        enter = time.monotonic_ns()
        Stamping.asked.append(self.headers.get("Concurrency-Evidence"))
        time.sleep(0.05)
        name = self.path.partition("client=")[2]
        body = {"hello": "world", "client": name, "pid": os.getpid(), "thread": str(threading.get_ident()),
                "enter_ns": enter, "exit_ns": time.monotonic_ns(), "handler": "test",
                "peer_port": self.client_address[1]}  # fmt: skip
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.headers.get("Connection", "").lower() == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stamping_url() -> Iterator[str]:
    Stamping.asked = []
    yield from serve_in_thread(Stamping)


@pytest.mark.parametrize("client", NEW)
@pytest.mark.parametrize("connections", ["reuse", "fresh"])
def test_a_new_client_speaks_the_harness_protocol(stamping_url: str, client: str, connections: str) -> None:
    spec = CATALOG.clients_by_name[client]
    values = base_values(None, connections=connections) | {"url": stamping_url, "clients": 5, "batches": 3,
                                                            "timeout": "10"}  # fmt: skip
    proc = subprocess.run(fill(spec.command, values), cwd=PYTHON_DIR, env=child_env(), capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if is_batch_line(line)]
    batches = [parse_batch_line(line, client=client, clients=5, shared_clock=False) for line in lines]
    assert len(batches) == 3 and proc.stdout.rstrip().splitlines()[-1].startswith("!! main took")
    assert all(r.ok and r.http_version == "HTTP/1.1" and r.pid for b in batches for r in b.requests)
    assert Stamping.asked == ["1"] * 15  # every request asked for the evidence
    ports = [{r.peer_port for r in b.requests} for b in batches]
    if connections == "reuse":  # the warm-up's connections serve every later batch
        assert ports[1] <= ports[0] and ports[2] <= ports[0]
    else:  # a new connection for every request
        assert len(set().union(*ports)) == 15


def test_the_new_clients_are_not_in_the_default_matrix_and_say_whether_they_speak_h2c() -> None:
    for name in NEW:
        spec = CATALOG.clients_by_name[name]
        assert not spec.default and spec.concurrent
    assert CATALOG.clients_by_name["httpx2-async"].http2_flags == ("--http", "2")
    assert "HTTP/1.1 only" in (CATALOG.clients_by_name["requests-threads"].http2_reason() or "")
