"""The setups engineers choose today, started for real beside the article's.

gevent, granian, hypercorn, uvicorn with uvloop or a concurrency limit, Go on one
OS thread, gunicorn's own ASGI worker: each measured with the same evidence, each
held to its declared capacity or its claim. Wide margins; no absolute time.
"""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.compare.claims import OTHER_LOAD_MAX
from harness.core.thresholds import GIL_MAX_PARALLELISM
from tests.conftest import assert_none_left, harness

pytestmark = pytest.mark.integration

WAITING = ["gunicorn-gevent", "granian-wsgi", "granian-asgi", "hypercorn-asgi", "uvicorn-uvloop", "go-gomaxprocs1",
           "gunicorn-asgi"]  # fmt: skip


def run(out: Path, *args: str) -> dict[str, Any]:
    run_id = f"new-{uuid.uuid4().hex[:8]}"
    proc = harness("compare", *args, "--repeats", "1", "--out", str(out), run_id=run_id, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_none_left(run_id)
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def waiting(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run(tmp_path_factory.mktemp("new-wait"), "--servers", ",".join([*WAITING, "uvicorn-limit5"]),
               "--client-impls", "go-goroutines,httpx-async", "--delay", "0.2")  # fmt: skip


@pytest.mark.parametrize("server", WAITING)
def test_waiting_handlers_are_served_at_once(waiting: dict[str, Any], server: str) -> None:
    for p in (p for p in waiting["pairings"] if p["server"] == server):
        assert p["status"] == "ok" and p["max_in_flight"] == 5 and p["ratio_median"] <= 1.6, p


def test_their_claims_are_confirmed(waiting: dict[str, Any]) -> None:
    verdicts = {c["id"]: c["verdict"] for c in waiting["claims"]}
    ids = ("X11", "X13", "X14", "G1")
    assert {k: verdicts[k] for k in ids} == dict.fromkeys(ids, "confirmed"), waiting["claims"]


def test_gevent_serves_in_one_thread(waiting: dict[str, Any]) -> None:
    p = next(p for p in waiting["pairings"] if (p["server"], p["client"]) == ("gunicorn-gevent", "go-goroutines"))
    assert (p["processes"], p["threads"]) == (1, 1), p


def test_every_server_package_version_is_in_the_environment(waiting: dict[str, Any]) -> None:
    packages = waiting["environment"]["packages"]
    for name in ("gevent", "granian", "hypercorn", "uvloop", "httptools", "uvicorn", "gunicorn", "django"):
        assert packages.get(name, "not installed") != "not installed", packages


def test_a_concurrency_limit_rejects_instead_of_queueing(tmp_path: Path) -> None:
    report = run(tmp_path, "--servers", "uvicorn-limit5", "--client-impls", "go-goroutines,httpx-async",
                 "--clients", "10", "--delay", "0.2")  # fmt: skip
    for p in report["pairings"]:
        assert p["status"] == "ok" and p["failed_requests"] == 0, p  # rejections are not failures
        assert p["rejected"] >= 5 and (p["max_in_flight"] or 0) <= 4, p  # beyond its limit: 503, none queued
        # fresh connections sent 20 ms apart (its catalog entry): exactly k = 4 served in every batch
        assert (p["connections"], p["served_min"], p["served_max"], p["rejected_late"]) == ("fresh", 4, 4, 0), p
    assert next(c for c in report["claims"] if c["id"] == "X14")["verdict"] == "confirmed"
    with open(tmp_path / "requests.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rejected = [r for r in rows if r["rejected"] == "True"]
    assert rejected and {r["status"] for r in rejected} == {"503"}
    assert {r["gil_enabled"] for r in rows if r["status"] == "200"} == {"True"}  # a default build: the GIL is on


def test_with_cpu_work_gevent_takes_turns_and_gomaxprocs1_uses_one_core(tmp_path: Path) -> None:
    report = run(tmp_path, "--work", "cpu", "--servers", "gunicorn-gevent,go-gomaxprocs1", "--client-impls",
                 "go-goroutines", "--delay", "0.1")  # fmt: skip
    gevent = next(p for p in report["pairings"] if p["server"] == "gunicorn-gevent")
    go1 = next(p for p in report["pairings"] if p["server"] == "go-gomaxprocs1")
    assert gevent["max_in_flight"] == 1, gevent  # a computing greenlet never yields
    assert go1["max_in_flight"] == 5 and go1["parallelism"] <= GIL_MAX_PARALLELISM, go1  # one core's worth
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert verdicts["X12"] == "confirmed", report["claims"]
    if report["environment"]["cores"] >= 2 and go1["other_load"] <= OTHER_LOAD_MAX:
        assert verdicts["X15"] == "confirmed", report["claims"]
