"""Beyond the article, for real: the new setups, and CPU work instead of waiting.

Wide margins, and for CPU work only the evidence that does not depend on the
machine's speed, which moves by half from one process or moment to the next here:
how many requests were held at once, by how many processes and threads, and
``parallelism`` (the server's CPU seconds over the batch's wall seconds, both from
the same batch). No ratio of two batches, two processes or two moments.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.compare.claims import OTHER_LOAD_MAX
from harness.compare.stats import STEAL_MAX_SHARE
from harness.core.thresholds import GIL_MAX_PARALLELISM
from tests.conftest import assert_none_left, harness

pytestmark = pytest.mark.integration

NEW = ["uvicorn-workers5", "gunicorn-uvicorn5", "django-asgi-async", "go-bounded"]
CPU_SERVERS = ["go-nethttp", "fastapi-async", "fastapi-def", "gunicorn-workers5"]


def run(out: Path, *args: str, repeats: int = 1) -> tuple[dict[str, Any], str]:
    run_id = f"work-{uuid.uuid4().hex[:8]}"
    proc = harness("compare", *args, "--delay", "0.3", "--repeats", str(repeats), "--out", str(out), run_id=run_id,
                   timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_none_left(run_id)
    return json.loads((out / "report.json").read_text()), run_id


@pytest.fixture(scope="module")
def new_setups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run(tmp_path_factory.mktemp("new"), "--servers", ",".join(NEW), "--client-impls",
               "go-goroutines,httpx-async")[0]  # fmt: skip


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run(tmp_path_factory.mktemp("cpu"), "--work", "cpu", "--servers", ",".join(CPU_SERVERS),
               "--client-impls", "go-goroutines,httpx-sequential", repeats=2)[0]  # fmt: skip
    # two counted batches: a batch during which the host stole CPU is left out (``stats.stolen``),
    # and one such batch must not leave a pairing without figures


def pairing(report: dict[str, Any], server: str, client: str) -> dict[str, Any]:
    return next(p for p in report["pairings"] if p["server"] == server and p["client"] == client)


@pytest.mark.parametrize("server", ["uvicorn-workers5", "gunicorn-uvicorn5", "django-asgi-async"])
@pytest.mark.parametrize("client", ["go-goroutines", "httpx-async"])
def test_new_async_setups_are_concurrent(new_setups: dict[str, Any], server: str, client: str) -> None:
    p = pairing(new_setups, server, client)
    assert p["ratio_median"] <= 1.6 and p["max_in_flight"] == 5, p


@pytest.mark.parametrize("client", ["go-goroutines", "httpx-async"])
def test_go_semaphore_bounds_the_server(new_setups: dict[str, Any], client: str) -> None:
    p = pairing(new_setups, "go-bounded", client)
    assert p["max_in_flight"] == 2, p  # the semaphore's size
    assert 2.4 <= p["ratio_median"] <= 3.8, p  # ceil(5 / 2) = 3 rounds


def test_new_setup_claims(new_setups: dict[str, Any]) -> None:
    verdicts = {c["id"]: c["verdict"] for c in new_setups["claims"]}
    assert {k: verdicts[k] for k in ("X7", "X8", "X9", "X10")} == dict.fromkeys(("X7", "X8", "X9", "X10"), "confirmed")
    assert "X1" not in verdicts  # CPU claims need --work cpu


def test_cpu_run_is_calibrated_and_labelled(cpu_run: dict[str, Any]) -> None:
    cal = cpu_run["settings"]["calibration"]
    assert cal["python_iterations"] > 0 and cal["go_iterations"] > cal["python_iterations"]
    assert cal["python_call_s"] > 0 and cal["go_call_s"] > 0
    assert {p["work"] for p in cpu_run["pairings"]} == {"cpu"}
    assert cpu_run["environment"]["cores"] >= 1


def test_cpu_claims_get_verdicts(cpu_run: dict[str, Any]) -> None:
    claims = {c["id"]: c for c in cpu_run["claims"]}
    assert set(claims) == {"X1", "X2", "X3", "X5"}  # the claims whose servers this run started
    assert all(c["work"] == "cpu" for c in claims.values())
    # the threads take turns and the computing coroutine blocks: never seen as parallel
    assert "refuted" not in (claims["X1"]["verdict"], claims["X2"]["verdict"]), claims


def test_async_handler_that_computes_blocks_the_loop(cpu_run: dict[str, Any]) -> None:
    p = pairing(cpu_run, "fastapi-async", "go-goroutines")
    assert (p["max_in_flight"], p["threads"]) == (1, 1), p  # one at a time, on the loop's one thread


def test_threads_interleave_but_do_not_run_in_parallel(cpu_run: dict[str, Any]) -> None:
    threads = pairing(cpu_run, "fastapi-def", "go-goroutines")
    assert threads["max_in_flight"] == 5 and threads["threads"] == 5, threads  # concurrent...
    assert threads["parallelism"] <= GIL_MAX_PARALLELISM, threads  # ...but one core's worth: the GIL


def test_go_and_processes_use_the_cores(cpu_run: dict[str, Any]) -> None:
    go = pairing(cpu_run, "go-nethttp", "go-goroutines")
    workers = pairing(cpu_run, "gunicorn-workers5", "go-goroutines")
    assert workers["processes"] == 5 and go["processes"] == 1
    assert workers["max_in_flight"] == 5 and go["max_in_flight"] == 5
    if cpu_run["environment"]["cores"] >= 2:
        # more than one core's worth, from the server's own CPU time in the same batch,
        # wherever the rest of the machine left it a second core to show it on
        for p in (go, workers):
            if p["other_load"] <= OTHER_LOAD_MAX:
                assert p["parallelism"] > GIL_MAX_PARALLELISM, p


def test_the_hosts_steal_is_recorded_per_batch_and_cells_are_in_calls(cpu_run: dict[str, Any]) -> None:
    for b in cpu_run["batches"]:
        assert b["steal_share"] is not None and 0 <= b["steal_share"] <= 1, b
        assert b["stolen"] is (b["steal_share"] > STEAL_MAX_SHARE), b
    for p in cpu_run["pairings"]:
        if p["repeats"]:  # every counted batch of a pairing can be stolen on a busy host
            assert p["calls_median"] > 0, p
    # one request after another: each ran alone, so it is about 5 of this server's own calls,
    # whatever the machine's speed at the moment (x D moves with it)
    for server in ("go-nethttp", "gunicorn-workers5"):
        seq = pairing(cpu_run, server, "httpx-sequential")
        if seq["repeats"]:
            assert 4.5 <= seq["calls_median"] <= 6.5, seq


def test_parallelism_is_measured_for_every_pairing(cpu_run: dict[str, Any]) -> None:
    for p in cpu_run["pairings"]:
        assert p["parallelism"] is not None and p["parallelism"] > 0, p
