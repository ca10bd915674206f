"""Your own server: apps written as a user writes them (``tests/fixtures/userapp``), wrapped
with the evidence middleware, served outside the harness, measured with ``--target`` on
a path other than ``/``: the report's in flight, processes and threads must match the
deployment, and a declared ``--capacity`` gets G1 judged. The same apps without the
middleware still run and say there is no evidence; ``--server-pid`` then samples them.

Figures are printed (``pytest -s``) for the record."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import assert_none_left, harness
from tests.userapps import HOLD_S, go_app, gunicorn_threads, report, uvicorn_workers

pytestmark = pytest.mark.integration

CLIENTS = "go-goroutines,httpx-async,httpx-threads"


def compare(target: str, out: Path, *args: str, run_id: str) -> dict[str, Any]:
    proc = harness("compare", "--target", target, "--client-impls", CLIENTS, "--repeats", "2", "--out", str(out),
                   *args, run_id=run_id, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return report(out)


def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in data["pairings"] if p["client"] in CLIENTS.split(",")]


def verdict(data: dict[str, Any], claim: str) -> str | None:
    return next((c["verdict"] for c in data["claims"] if c["id"] == claim), None)


def show(label: str, data: dict[str, Any]) -> None:
    for p in rows(data):
        sampled = (f"; sampled processes {p['sampled_processes']}, threads {p['sampled_threads']}, "
                   f"parallelism {p['sampled_parallelism']:.3f}") if p.get("sampled_processes") else ""  # fmt: skip
        print(f"{label} {p['client']}: {p['ratio_median']:.2f}x, in flight {p['max_in_flight']}, "
              f"processes {p['processes']}, threads {p['threads']}{sampled}")  # fmt: skip
    print(f"{label} claims: {[(c['id'], c['verdict']) for c in data['claims']]}")


def headers_of(url: str, **kw: Any) -> httpx.Headers:
    with httpx.Client(trust_env=False, timeout=10) as client:
        return client.get(url, **kw).headers


def assert_evidence_only_when_asked(url: str) -> None:
    """The middleware answers a request that asks, and adds nothing to one that does not."""
    asked = headers_of(url, headers={"Concurrency-Evidence": "1"})
    assert "v=1;pid=" in asked["concurrency-evidence"] and "concurrency-evidence" in asked["server-timing"]
    plain = headers_of(url)
    assert "concurrency-evidence" not in plain and "server-timing" not in plain, dict(plain)


def test_a_fastapi_app_under_uvicorn_workers_2(tmp_path: Path) -> None:
    run_id = f"userapp-uvicorn-{uuid.uuid4().hex[:8]}"
    with uvicorn_workers(tmp_path) as served:
        url = f"{served.base}/api/items/7?q=shoes"
        assert_evidence_only_when_asked(url)
        # fresh connections: every request is accepted anew, so both workers take some
        got = compare(url, tmp_path / "get", "--delay", f"{HOLD_S:g}", "--clients", "8", "--connections", "fresh",
                      "--capacity", "100", run_id=run_id)  # fmt: skip
        posted = compare(f"{served.base}/api/orders", tmp_path / "post", "--method", "POST", "--header",
                         "Content-Type: application/json", "--body", '{"sku": "A1", "n": 2}', "--expect-status",
                         "201", "--delay", "auto", run_id=run_id)  # fmt: skip
    assert_none_left(run_id)
    show("uvicorn --workers 2 GET", got)
    show("uvicorn --workers 2 POST", posted)
    assert got["settings"]["target"]["evidence_source"] == "header"
    for p in rows(got):
        assert p["status"] == "ok" and p["max_in_flight"] == 8 and p["ratio_median"] < 1.5
        assert 1 <= p["processes"] <= 2 and p["threads"] == p["processes"]  # one event loop thread per worker
    assert max(p["processes"] for p in rows(got)) == 2  # the two workers, from their own stamps
    assert verdict(got, "G1") == "confirmed" and verdict(got, "C3") is None  # only what the user declared
    request = posted["settings"]["target"]["request"]
    assert (request["method"], request["headers"], request["expect_status"]) == ("POST", ["Content-Type: (hidden)"],
                                                                                  "201")  # fmt: skip
    assert posted["settings"]["target"]["delay_auto_samples_s"] and posted["settings"]["delay_s"] >= HOLD_S
    for p in rows(posted):
        assert p["status"] == "ok" and p["max_in_flight"] == 5 and p["ratio_median"] < 1.5
    assert posted["claims"] == []  # no capacity declared: its evidence is shown, nothing is judged
    assert "declares no capacity" in (tmp_path / "post" / "report.md").read_text()


def test_a_django_project_under_gunicorn_threads_4(tmp_path: Path) -> None:
    run_id = f"userapp-gunicorn-{uuid.uuid4().hex[:8]}"
    with gunicorn_threads(tmp_path) as served:
        url = f"{served.base}/reports/2024/?region=eu"
        assert_evidence_only_when_asked(url)
        data = compare(url, tmp_path / "wrapped", "--delay", f"{HOLD_S:g}", "--capacity", "4", run_id=run_id)
        wrong = compare(url, tmp_path / "wrong", "--delay", f"{HOLD_S:g}", "--capacity", "5", run_id=run_id)
    assert_none_left(run_id)
    show("gunicorn --threads 4, --capacity 4", data)
    show("gunicorn --threads 4, --capacity 5", wrong)
    for p in rows(data):  # N = 5 against 4 threads: two waves, 4 in flight, one process
        assert p["status"] == "ok" and p["max_in_flight"] == 4 and p["processes"] == 1 and p["threads"] == 4
        assert 1.5 < p["ratio_median"] < 2.5
    assert verdict(data, "G1") == "confirmed"
    assert verdict(wrong, "G1") != "confirmed"  # the same server declared 5: the evidence says otherwise


def test_a_plain_django_project_says_no_evidence_and_server_pid_samples_it(tmp_path: Path) -> None:
    run_id = f"userapp-plain-{uuid.uuid4().hex[:8]}"
    with gunicorn_threads(tmp_path, middleware=False) as served:
        url = f"{served.base}/reports/2024/"
        assert "concurrency-evidence" not in headers_of(url, headers={"Concurrency-Evidence": "1"})
        plain = compare(url, tmp_path / "plain", "--delay", f"{HOLD_S:g}", "--capacity", "4", run_id=run_id)
        sampled = compare(url, tmp_path / "sampled", "--delay", f"{HOLD_S:g}", "--server-pid", str(served.proc.pid),
                          run_id=run_id)  # fmt: skip
    assert_none_left(run_id)
    show("plain gunicorn --threads 4", plain)
    show("plain gunicorn --threads 4 --server-pid", sampled)
    assert plain["settings"]["target"]["evidence"] is False and plain["claims"] == []
    for p in rows(plain):
        assert p["status"] == "ok" and p["max_in_flight"] is None and 1.5 < p["ratio_median"] < 2.5
    assert "no server-side evidence from the target" in (tmp_path / "plain" / "report.md").read_text()
    for p in rows(sampled):  # the master and its one worker; the worker's 4 threads and its main one
        assert p["max_in_flight"] is None and p["sampled_processes"] == 2 and p["sampled_threads"] >= 5
        assert p["sampled_parallelism"] is not None and 0 <= p["sampled_parallelism"] < 1
    md = (tmp_path / "sampled" / "report.md").read_text()
    assert f"pid {served.proc.pid} and its children" in md and "sampled processes" in md


def test_a_go_server_with_the_wrapper(tmp_path: Path) -> None:
    run_id = f"userapp-go-{uuid.uuid4().hex[:8]}"
    with go_app(tmp_path) as served:
        url = f"{served.base}/api/quote?symbol=ACME"
        assert_evidence_only_when_asked(url)
        data = compare(url, tmp_path / "go", "--delay", "auto", "--capacity", "100", run_id=run_id)
    assert_none_left(run_id)
    show("Go evidencehttp", data)
    for p in rows(data):  # one goroutine per connection, in one process
        assert p["status"] == "ok" and p["max_in_flight"] == 5 and p["processes"] == 1 and p["threads"] == 5
        assert p["ratio_median"] < 1.5
    assert verdict(data, "G1") == "confirmed"
