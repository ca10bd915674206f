"""The article's scenario as a Locust user, for load from many client hosts.

Each user iteration is one batch: N requests at once (``/?client=A``.. as the
article's Go client sends them), each in its own greenlet (``gevent.pool.Group``)
on the user's FastHttpUser connection pool (N connections). Every answer is checked:
status 200, JSON with ``hello`` and the ``client`` it was sent for; anything else is
a Locust failure. The batch itself is reported as a request of type ``BATCH`` named
``batch of N`` whose response time is the batch's wall time in ms, so Locust's CSV
(``--csv PREFIX``) carries the batch wall times beside the single requests.

Every request carries ``Concurrency-Evidence: 1``: a server with the evidence
middleware (``middleware/``) answers with a ``Concurrency-Evidence`` header, kept raw
as ``evidence_header`` (the report reads it before the body's fields).

The server's own evidence in each answer (pid, thread, enter_ns, exit_ns, CPU
stamps, peer port) is appended, one JSON line per answer, to
``$HARNESS_EVIDENCE_DIR/worker-<host>-<pid>.jsonl`` by whichever process ran the
user (a worker, in distributed mode). ``python -m harness locust-report --csv PREFIX
--evidence DIR`` merges every such file in DIR: on many hosts, collect the files
into one folder first (a shared folder, or scp/rsync after the run).

Settings (environment variables, on every worker):
``HARNESS_BATCH_CLIENTS`` N, requests per batch (default 5);
``HARNESS_EVIDENCE_DIR`` where to write the evidence lines (unset: none written).

This file imports nothing from the repository, so ``locust --worker -f -`` (the
master sends its locustfile) works on a host without a checkout.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import sys
import time
from typing import Any

from gevent import GreenletExit
from gevent.pool import Group
from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

BATCH_CLIENTS = int(os.environ.get("HARNESS_BATCH_CLIENTS", "5"))
EVIDENCE_DIR = os.environ.get("HARNESS_EVIDENCE_DIR", "")
EVIDENCE_HEADER = "Concurrency-Evidence"
EVIDENCE_FIELDS = ("pid", "thread", "enter_ns", "exit_ns", "cpu_enter_ns", "cpu_exit_ns", "peer_port", "handler",
                   "gil_enabled")  # fmt: skip

if sys.platform.startswith("linux"):  # the same clock as python/evidence.py: system-wide on Linux

    def now_ns() -> int:
        return time.clock_gettime_ns(time.CLOCK_MONOTONIC)

else:  # pragma: no cover

    def now_ns() -> int:
        return time.time_ns()


def client_names(n: int) -> list[str]:
    """A..Z, AA, AB, ...: the first five are the article's A..E (as python/evidence.py)."""
    names = []
    for i in range(1, n + 1):
        name = ""
        while i:
            i, rem = divmod(i - 1, 26)
            name = chr(ord("A") + rem) + name
        names.append(name)
    return names


def evidence_path() -> str | None:
    if not EVIDENCE_DIR:
        return None
    os.makedirs(EVIDENCE_DIR, exist_ok=True)
    return os.path.join(EVIDENCE_DIR, f"worker-{socket.gethostname()}-{os.getpid()}.jsonl")


class BatchUser(FastHttpUser):
    """One batch of ``HARNESS_BATCH_CLIENTS`` concurrent requests per iteration, back to back."""

    wait_time = constant(0)
    concurrency = BATCH_CLIENTS
    network_timeout = 120.0

    def on_start(self) -> None:
        self.batches = 0
        self.names = client_names(BATCH_CLIENTS)
        self.label = "/?client=" + (self.names[0] if len(self.names) == 1 else f"{self.names[0]}..{self.names[-1]}")

    def one(self, name: str, batch_id: str) -> dict[str, Any]:
        """One request, checked; what both sides saw of it."""
        record: dict[str, Any] = {"batch": batch_id, "name": name, "status": 0, "error": None}
        record["sent_ns"] = now_ns()
        try:
            with self.client.get(f"/?client={name}", name=self.label, catch_response=True,
                                 headers={EVIDENCE_HEADER: "1"}) as response:  # fmt: skip
                record["recv_ns"] = now_ns()
                record["status"] = int(response.status_code or 0)
                if (header := response.headers.get(EVIDENCE_HEADER)) is not None:
                    record["evidence_header"] = header
                record["error"] = check(response, name, record)
                if record["error"]:
                    response.failure(record["error"])
                else:
                    response.success()
        except Exception as exc:  # a greenlet must not die: the batch still has to be counted
            record.setdefault("recv_ns", now_ns())
            record["error"] = f"{type(exc).__name__}: {exc}"
        return record

    @task
    def batch(self) -> None:
        self.batches += 1
        batch_id = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}-{self.batches}"
        group = Group()
        start = time.perf_counter()
        jobs = [group.spawn(self.one, name, batch_id) for name in self.names]
        try:
            group.join()
        except GreenletExit:  # the run ended mid-batch: its requests go with it, none counted
            group.kill(block=False)
            raise
        wall_s = time.perf_counter() - start
        records = [job.value for job in jobs]
        failed = sum(1 for r in records if r["error"])
        self.environment.events.request.fire(
            request_type="BATCH",
            name=f"batch of {BATCH_CLIENTS}",
            response_time=wall_s * 1000,
            response_length=0,
            exception=RuntimeError(f"{failed} of {BATCH_CLIENTS} answers failed") if failed else None,
            context={},
        )
        if path := evidence_path():
            for r in records:
                r["batch_wall_s"] = wall_s
            with open(path, "a", encoding="utf-8") as f:
                f.write("".join(json.dumps(r) + "\n" for r in records))


def check(response: Any, name: str, record: dict[str, Any]) -> str | None:
    """None for the answer the article expects, else why not; keeps the server's evidence in ``record``."""
    if response.status_code != 200:
        return f"status {response.status_code}" + (f" ({response.error})" if response.error else "")
    try:
        body = response.json()
    except Exception as exc:
        return f"not JSON ({type(exc).__name__})"
    if not isinstance(body, dict) or "hello" not in body:
        return "no 'hello' in the answer"
    if body.get("client") != name:
        return f"client {body.get('client')!r} echoed for {name!r}"
    record.update({k: body.get(k) for k in EVIDENCE_FIELDS})
    return None


ENVIRONMENTS: list[Environment] = []


@events.init.add_listener
def remember(environment: Environment, **_: Any) -> None:
    ENVIRONMENTS.append(environment)


@events.quit.add_listener
def final_csv(**_: Any) -> None:
    """Write ``PREFIX_stats.csv`` and ``PREFIX_failures.csv`` once more with the final totals.

    Locust rewrites them once a second while it runs and not at the end, so the last
    second of a run was missing from them (18 of 24 batches in a 3 s run). Its writer
    flushes after each rewrite (``truncate``), so nothing of it is pending here.
    """
    if not ENVIRONMENTS:
        return
    environment = ENVIRONMENTS[-1]
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix or isinstance(environment.runner, WorkerRunner):
        return
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (("_stats.csv", writer.requests_csv), ("_failures.csv", writer.failures_csv)):
        with open(prefix + suffix, "w", newline="", encoding="utf-8") as f:
            write(csv.writer(f))
