"""Every claim can fail: for each claim id, pairing evidence that must confirm it and
evidence that breaks its model and must refute it.

The frames are written out as measurements (ratio, in flight, processes, threads,
parallelism, served/rejected per batch), not derived from the claim's own bands, so a
verdict that cannot fail shows up here as a refuting case that confirms.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from harness.compare.claims import Context, check, servers_for
from harness.core.catalog import CATALOG
from harness.core.claims import CLAIMS

N = 5
WAIT = Context(N, 2, "wait", CATALOG)
CPU = Context(N, 2, "cpu", CATALOG)
H2C = Context(N, 2, "wait", CATALOG, http="2")
"""``--http 2``: the five requests as five streams of one connection (claims H1..H6)."""
CLIENTS = ("go-goroutines", "httpx-async")
HANDLERS = {s: {"views.process_request"} for s in servers_for("C11", CATALOG)}

Evidence = dict[str, Any]
# waiting handlers: wall / D, requests held at once, processes and threads seen
CONCURRENT: Evidence = {"ratio_median": 1.02, "max_in_flight": 5, "processes": 1, "threads": 5}
ONE_THREAD: Evidence = {**CONCURRENT, "threads": 1}
FIVE_PROCS: Evidence = {**CONCURRENT, "processes": 5}
SERIAL: Evidence = {"ratio_median": 5.05, "max_in_flight": 1, "processes": 1, "threads": 1}
TWO_AT_ONCE: Evidence = {"ratio_median": 3.02, "max_in_flight": 2, "processes": 1, "threads": 2}
# computing handlers: parallelism is the server's CPU seconds over the batch's wall seconds
INTERLEAVED: Evidence = {"ratio_median": 5.1, "max_in_flight": 5, "processes": 1, "threads": 5,
                         "parallelism": 1.0, "other_load": 0.1}  # fmt: skip
PARALLEL: Evidence = {**INTERLEAVED, "ratio_median": 2.7, "parallelism": 1.9}
PARALLEL_PROCS: Evidence = {**PARALLEL, "processes": 5}
CPU_SERIAL: Evidence = {**INTERLEAVED, "max_in_flight": 1, "threads": 1}
CPU_SERIAL_PROCS: Evidence = {**CPU_SERIAL, "processes": 5}
CPU_TWO: Evidence = {**PARALLEL, "ratio_median": 3.1, "max_in_flight": 2}
# uvicorn-limit5 (k = 4) at N = 5, three counted batches
REJECTS_AS_DECLARED: Evidence = {"ratio_median": 1.02, "max_in_flight": 4, "rejected": 3, "served_min": 4,
                                 "served_max": 4, "rejected_late": 0, "served_fast": 0}  # fmt: skip
ALL_REJECTED: Evidence = {"ratio_median": 0.03, "max_in_flight": math.nan, "processes": math.nan,
                          "threads": math.nan, "rejected": 15, "served_min": 0, "served_max": 0,
                          "rejected_late": 0, "served_fast": 0}  # fmt: skip
"""Published ``results/cpu``: the Go client had every request rejected, none in flight."""
TOO_MANY_REJECTED: Evidence = {**REJECTS_AS_DECLARED, "max_in_flight": 4, "rejected": 6, "served_min": 2,
                               "served_max": 4}  # fmt: skip
"""Published ``results/all``: 2-4 in flight, 3 rejected per batch (idle kept-alive connections counted)."""
QUEUED_THEN_REJECTED: Evidence = {**REJECTS_AS_DECLARED, "rejected_late": 2}


def frame(evidence: dict[str, Evidence], clients: tuple[str, ...] = CLIENTS) -> pd.DataFrame:
    rows = []
    for server, ev in evidence.items():
        for client in clients:
            base = {"server": server, "client": client, "status": "ok", "failed_requests": 0, "rejected": 0,
                    "processes": math.nan, "threads": math.nan, "parallelism": math.nan,
                    "client_concurrent": True}  # fmt: skip
            rows.append(base | ev)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Case:
    claim: str
    confirm: dict[str, Evidence]
    refute: dict[str, Evidence]
    ctx: Context = WAIT
    clients: tuple[str, ...] = CLIENTS
    handlers: dict[str, set[str]] = field(default_factory=lambda: HANDLERS)


def django(**override: Evidence) -> dict[str, Evidence]:
    """The article's Django setups as it says they behave, ``override`` replacing some."""
    found = {"django-runserver": CONCURRENT, "django-nothreading": SERIAL, "gunicorn-default": SERIAL,
             "gunicorn-threads5": CONCURRENT, "gunicorn-workers5": FIVE_PROCS}  # fmt: skip
    return found | {k.replace("_", "-"): v for k, v in override.items()}


CASES = [
    Case("C1", {"go-nethttp": CONCURRENT}, {"go-nethttp": SERIAL}),
    Case("C1", {"go-nethttp": CONCURRENT}, {"go-nethttp": FIVE_PROCS}),  # at once, but not one process
    Case("C2", {"go-nethttp": CONCURRENT}, {"go-nethttp": SERIAL}, clients=("go-goroutines",)),
    Case("C3", {"fastapi-async": ONE_THREAD}, {"fastapi-async": SERIAL}),
    Case("C3", {"fastapi-async": ONE_THREAD}, {"fastapi-async": CONCURRENT}),  # N threads, not one
    Case("C4", {"fastapi-def": CONCURRENT}, {"fastapi-def": SERIAL}),
    Case("C5", {"fastapi-async-blocking": SERIAL}, {"fastapi-async-blocking": ONE_THREAD}),
    Case("C6", {"django-runserver": CONCURRENT}, {"django-runserver": SERIAL}),
    Case("C7", {"django-nothreading": SERIAL}, {"django-nothreading": CONCURRENT}),
    Case("C8", {"gunicorn-default": SERIAL}, {"gunicorn-default": CONCURRENT}),
    Case("C9", {"gunicorn-threads5": CONCURRENT}, {"gunicorn-threads5": SERIAL}),
    Case("C10", {"gunicorn-workers5": FIVE_PROCS}, {"gunicorn-workers5": CONCURRENT}),  # one process, not 5
    Case("C11", django(), django(gunicorn_default=CONCURRENT)),
    Case(
        "X1",
        {s: INTERLEAVED for s in ("fastapi-def", "django-runserver", "gunicorn-threads5")},
        {"fastapi-def": INTERLEAVED, "django-runserver": PARALLEL, "gunicorn-threads5": INTERLEAVED},
        CPU,
    ),
    Case(
        "X2",
        {"fastapi-async": CPU_SERIAL, "django-asgi-async": CPU_SERIAL},
        {"fastapi-async": CPU_SERIAL, "django-asgi-async": INTERLEAVED},
        CPU,
    ),
    Case("X3", {"gunicorn-workers5": PARALLEL_PROCS}, {"gunicorn-workers5": PARALLEL}, CPU),  # one process
    Case(
        "X4",
        {"uvicorn-workers5": PARALLEL_PROCS, "gunicorn-uvicorn5": PARALLEL_PROCS},
        {"uvicorn-workers5": PARALLEL_PROCS, "gunicorn-uvicorn5": CPU_SERIAL_PROCS},
        CPU,
    ),
    Case("X5", {"go-nethttp": PARALLEL}, {"go-nethttp": INTERLEAVED}, CPU),
    Case("X6", {"go-bounded": CPU_TWO}, {"go-bounded": PARALLEL}, CPU),
    Case("X7", {"uvicorn-workers5": FIVE_PROCS}, {"uvicorn-workers5": SERIAL}),
    Case("X8", {"gunicorn-uvicorn5": FIVE_PROCS}, {"gunicorn-uvicorn5": SERIAL}),
    Case("X9", {"django-asgi-async": ONE_THREAD}, {"django-asgi-async": CONCURRENT}),  # N threads, not one
    Case("X10", {"go-bounded": TWO_AT_ONCE}, {"go-bounded": CONCURRENT}),
    Case("X11", {"gunicorn-gevent": ONE_THREAD}, {"gunicorn-gevent": SERIAL}),
    Case("X12", {"gunicorn-gevent": CPU_SERIAL}, {"gunicorn-gevent": INTERLEAVED}, CPU),
    Case("X13", {"uvicorn-uvloop": ONE_THREAD}, {"uvicorn-uvloop": SERIAL}),
    Case("X14", {"uvicorn-limit5": REJECTS_AS_DECLARED}, {"uvicorn-limit5": ALL_REJECTED}),
    Case("X14", {"uvicorn-limit5": REJECTS_AS_DECLARED}, {"uvicorn-limit5": TOO_MANY_REJECTED}),
    Case("X14", {"uvicorn-limit5": REJECTS_AS_DECLARED}, {"uvicorn-limit5": QUEUED_THEN_REJECTED}),
    Case("X14", {"uvicorn-limit5": REJECTS_AS_DECLARED}, {"uvicorn-limit5": CONCURRENT}),  # none turned away
    Case("X15", {"go-gomaxprocs1": INTERLEAVED}, {"go-gomaxprocs1": PARALLEL}, CPU),
    Case("G1", {"granian-wsgi": CONCURRENT}, {"granian-wsgi": SERIAL}),  # declared k = 5 holds N = 5 at once
    Case(
        "G1",
        {"granian-wsgi": CONCURRENT, "hypercorn-asgi": ONE_THREAD},
        {"granian-wsgi": CONCURRENT, "hypercorn-asgi": SERIAL},
    ),  # declared unbounded
    Case("H1", {"gunicorn-threads5-h2": SERIAL}, {"gunicorn-threads5-h2": CONCURRENT}, H2C),  # in turn
    Case("H2", {"granian-wsgi-h2": CONCURRENT}, {"granian-wsgi-h2": SERIAL}, H2C),
    Case("H3", {"granian-asgi-h2": ONE_THREAD}, {"granian-asgi-h2": SERIAL}, H2C),
    Case("H4", {"hypercorn-asgi": ONE_THREAD}, {"hypercorn-asgi": CONCURRENT}, H2C),  # one loop, not N threads
    Case("H5", {"gunicorn-gevent-h2": SERIAL}, {"gunicorn-gevent-h2": ONE_THREAD}, H2C),  # in turn
    Case("H6", {"gunicorn-asgi-h2": ONE_THREAD}, {"gunicorn-asgi-h2": SERIAL}, H2C),
]


X14_CASE = next(c for c in CASES if c.claim == "X14")


def verdict(case: Case, evidence: dict[str, Evidence]) -> tuple[str, str]:
    result = next(c for c in check(frame(evidence, case.clients), case.handlers, case.ctx) if c.id == case.claim)
    return result.verdict, result.measured


def test_every_claim_has_a_case() -> None:
    assert {c.id for c in CLAIMS} == {case.claim for case in CASES}  # H1..H6 judged on a --http 2 context


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.claim)
def test_the_evidence_it_predicts_confirms_it(case: Case) -> None:
    assert verdict(case, case.confirm)[0] == "confirmed", verdict(case, case.confirm)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.claim)
def test_evidence_that_breaks_it_refutes_it(case: Case) -> None:
    assert verdict(case, case.refute)[0] == "refuted", verdict(case, case.refute)


@pytest.mark.parametrize("case", [c for c in CASES if len(c.confirm) > 1 and c.claim not in ("C11", "G1")],
                         ids=lambda c: c.claim)  # fmt: skip
def test_a_claim_with_one_of_its_servers_missing_is_not_confirmed(case: Case) -> None:
    """C11 rests on C6..C10, each about one server; G1 is about the servers that ran."""
    kept = dict(list(case.confirm.items())[:-1])
    missing = list(case.confirm)[-1]
    found, measured = verdict(case, kept)
    assert found == "inconclusive" and f"not measured: {missing}" in measured


def test_x14_shows_k_served_and_the_rest_rejected_per_batch() -> None:
    found, measured = verdict(X14_CASE, {"uvicorn-limit5": REJECTS_AS_DECLARED})
    assert found == "confirmed"
    assert "go-goroutines 4 served + 1 rejected per batch" in measured, measured


def test_x14_all_rejected_never_confirms_and_says_so() -> None:
    found, measured = verdict(X14_CASE, {"uvicorn-limit5": ALL_REJECTED})
    assert found == "refuted"
    assert "0 served + 5 rejected per batch" in measured, measured


def test_a_batch_splits_into_served_and_rejected_at_once() -> None:
    from dataclasses import replace as swap

    from harness.compare.stats import turned_away
    from tests.helpers import batch, concurrent_requests

    served = concurrent_requests(4)
    at_once, late = (swap(served[0], name=name, status=503, error=None, recv_ns=at * 1_000_000, enter_ns=None,
                          exit_ns=None) for name, at in (("E", 5), ("F", 150)))  # fmt: skip
    assert turned_away(batch("uvicorn-limit5", "c", 1, 1.0, (*served, at_once))) == {
        "served": 4, "rejected_late": 0, "served_fast": 0}  # fmt: skip
    assert turned_away(batch("uvicorn-limit5", "c", 1, 1.0, (*served, late)))["rejected_late"] == 1


def test_the_python_client_staggers_a_batchs_sends_when_asked() -> None:
    """``HARNESS_STAGGER_S`` (a catalog entry's ``client_stagger_s``): request i is sent i x that later."""
    import sys

    import httpx

    from harness.core.paths import PYTHON_DIR

    sys.path.insert(0, str(PYTHON_DIR))
    from clients import httpx_client

    run = httpx_client.Run("http://127.0.0.1:9/", ["A", "B", "C"], 1, 1.0, "fresh", None, 0.05)
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503))) as client:
        sent = [httpx_client._get(client, run, name, i)["sent_ns"] for i, name in enumerate(run.names)]
    gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(sent)]
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095, gaps  # sequential calls here: 0.05 s, then 0.10 s
