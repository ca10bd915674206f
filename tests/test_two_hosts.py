"""Two hosts on one machine: ``harness serve --host`` in one network namespace,
``compare --target`` in another, joined by a veth pair; the same servers over loopback
must give the same verdicts and evidence. One Django-based setup (whose
``ALLOWED_HOSTS`` must take the address ``serve --host`` binds) and one ASGI setup.

Every address is in 198.18.0.0/15 (reserved for benchmarks) inside namespaces this
test makes and removes again, also on failure. It skips, with the reason, where it
cannot make them (not root, no ``ip``, ``ip netns add`` refused).

The namespaces share the kernel's CLOCK_MONOTONIC, so the run passes
``--target-clock same`` and the client-vs-handler order is still checked.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, assert_none_left, harness, harness_env

pytestmark = pytest.mark.integration

SERVER_ADDR, CLIENT_ADDR = "198.18.0.1", "198.18.0.2"
SERVERS = {"gunicorn-threads5": (8000, "C9"), "fastapi-async": (8001, "C3")}
"""Served in the server's namespace: Django under gunicorn (WSGI) and FastAPI under uvicorn (ASGI)."""
CLIENTS = "go-goroutines,httpx-async"
HEALTH_WAIT_S = 60
WAIT_FOR_HEALTH = f"""
import sys, time, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
deadline = time.monotonic() + {HEALTH_WAIT_S}
for _ in range({HEALTH_WAIT_S * 5}):  # bounded in count and in time
    try:
        if opener.open(sys.argv[1] + "health", timeout=2).status == 200:
            raise SystemExit(0)
    except OSError:
        pass
    if time.monotonic() > deadline:
        break
    time.sleep(0.2)
raise SystemExit(1)
"""


def target(port: int) -> str:
    return f"http://{SERVER_ADDR}:{port}/"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


def namespaces() -> set[str]:
    return {line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line.strip()}


def report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text())


def pairing(data: dict[str, Any], server: str, client: str) -> dict[str, Any]:
    return next(p for p in data["pairings"] if p["server"] == server and p["client"] == client)


def verdict(data: dict[str, Any], claim: str) -> str:
    return next(c["verdict"] for c in data["claims"] if c["id"] == claim)


def test_a_server_in_another_namespace_measures_as_over_loopback(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None:
        pytest.skip("no `ip` (iproute2) to make network namespaces")
    pid = os.getpid()
    srv, cli = f"cch-srv-{pid}", f"cch-cli-{pid}"
    veth_srv, veth_cli = f"cchs{pid % 100000}", f"cchc{pid % 100000}"  # interface names: at most 15 characters
    made = ip("netns", "add", srv, check=False)
    if made.returncode != 0:
        pytest.skip(f"`ip netns add` failed: {made.stderr.strip()}")
    run_id = f"test-ns-{uuid.uuid4().hex[:8]}"
    serving: list[subprocess.Popen[str]] = []
    far: dict[str, Path] = {}
    try:
        ip("netns", "add", cli)
        # made in the namespaces, so the root namespace never has the link
        ip("link", "add", veth_srv, "netns", srv, "type", "veth", "peer", "name", veth_cli, "netns", cli)
        for ns, dev, addr in ((srv, veth_srv, SERVER_ADDR), (cli, veth_cli, CLIENT_ADDR)):
            ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        for name, (port, _) in SERVERS.items():
            serve_argv = ["ip", "netns", "exec", srv, sys.executable, "-m", "harness", "serve", name,
                          "--host", SERVER_ADDR, "--port", str(port), "--delay", "0.2"]  # fmt: skip
            serving.append(subprocess.Popen(serve_argv, cwd=REPO, env=harness_env(run_id), stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True))  # fmt: skip
        in_cli = ["ip", "netns", "exec", cli, sys.executable]
        for name, (port, _) in SERVERS.items():
            waited = subprocess.run([*in_cli, "-c", WAIT_FOR_HEALTH, target(port)], timeout=HEALTH_WAIT_S + 30,
                                    check=False)  # fmt: skip
            assert waited.returncode == 0, f"{name} in the other namespace never answered /health"
            far[name] = tmp_path / f"namespaces-{name}"
            measured = subprocess.run(
                [*in_cli, "-m", "harness", "compare", "--target", target(port), "--as", name, "--target-clock",
                 "same", "--client-impls", CLIENTS, "--delay", "0.2", "--repeats", "1", "--out", str(far[name])],
                cwd=REPO, env=harness_env(run_id), capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert measured.returncode == 0, measured.stderr
            assert f"{name} already running (a --target)" in measured.stderr
        near_out = tmp_path / "loopback"
        near = harness("compare", "--servers", ",".join(SERVERS), "--client-impls", CLIENTS, "--delay", "0.2",
                       "--repeats", "1", "--out", str(near_out), run_id=run_id, timeout=300)  # fmt: skip
        assert near.returncode == 0, near.stderr
    finally:
        for serve in serving:
            if serve.poll() is None:
                serve.send_signal(signal.SIGINT)
                try:
                    serve.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    serve.kill()
                    serve.wait(timeout=10)
            if serve.stdout is not None:
                serve.stdout.close()
        for ns in (srv, cli):  # deleting a namespace deletes its end of the veth pair, and so the pair
            ip("netns", "del", ns, check=False)
        assert not {srv, cli} & namespaces(), "a namespace of this test was left behind"
    assert_none_left(run_id)

    near_report = report(near_out)
    for name, (port, claim) in SERVERS.items():
        far_report = report(far[name])
        assert far_report["settings"]["target"]["url"] == target(port)
        for client in CLIENTS.split(","):
            a, b = pairing(far_report, name, client), pairing(near_report, name, client)
            assert a["status"] == b["status"] == "ok"
            assert a["max_in_flight"] == b["max_in_flight"] == 5
            assert a["processes"] == b["processes"] == 1
            assert a["threads"] == b["threads"]
            assert a["ratio_median"] < 1.5 and b["ratio_median"] < 1.5, (a["ratio_median"], b["ratio_median"])
            print(
                f"{name} {client}: namespaces {a['ratio_median']:.2f}x, loopback {b['ratio_median']:.2f}x, "
                f"in flight {a['max_in_flight']}/{b['max_in_flight']}, threads {a['threads']}/{b['threads']}"
            )
        assert verdict(far_report, claim) == verdict(near_report, claim) == "confirmed"
        print(f"{name} {claim}: namespaces {verdict(far_report, claim)}, loopback {verdict(near_report, claim)}")
