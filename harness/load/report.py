"""The load run's report: every step's figures and each server's verdict, from the raw records.

Everything is derived from the steps' raw records (``steps.step_row``); the model
(``model``) is set beside each measurement, never in its place. The exporters
(``harness.load.export``, kind ``load`` in ``harness.export``) write ``load.md``, ``load.json`` and
``load-requests.csv`` from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from harness.core.target import target_line
from harness.load import model
from harness.load.steps import Step, step_row


@dataclass(frozen=True)
class LoadReport:
    status: str
    settings: dict[str, Any]
    environment: dict[str, Any]
    steps: pd.DataFrame
    capacity: tuple[model.CeilingResult, ...]
    raw: tuple[Step, ...] = ()
    """Every step with its requests, for ``load-requests.csv``."""
    pictures: tuple[Any, ...] = ()
    intro: tuple[str, ...] = ()
    """Lines the reader must see first: what a ``--target`` was and what it gave."""


CLIENT_PROBE = "go-nethttp"
"""The server whose climb measures the load client's own on-time limit: the fastest of the catalog."""


def client_limit_rps(rows: list[dict[str, Any]]) -> tuple[float | None, bool]:
    """The highest rate the load client sent on time (late sends <= 1 %) against go-nethttp in this run, and
    whether a faster step lagged (else the limit is at least that)."""
    probe = [r for r in rows if r["server"] == CLIENT_PROBE and r["status"] == "ok"]
    on_time = max((float(r["offered_rps"]) for r in probe if not r["client_lagged"]), default=None)
    return on_time, any(r["client_lagged"] for r in probe)


def cost_s(rows: list[dict[str, Any]], capacity: int | None, delay_s: float) -> float | None:
    """c, the server's CPU seconds per request at the fastest step below its ceiling (k / D x 0.95; unbounded:
    kept up with): nearest the ceiling, where the loop's fixed per-second costs weigh least."""
    below = [r for r in rows if r["status"] == "ok" and not r["client_lagged"]
             and model._measured(r.get("server_cpu_per_request_s"))
             and (float(r["offered_rps"]) <= 0.95 * model.ceiling_rps(capacity, delay_s) if capacity is not None
                  else model.kept_up(r, delay_s))]  # fmt: skip
    fastest = max(below, key=lambda r: float(r["offered_rps"]), default=None)
    return None if fastest is None else float(fastest["server_cpu_per_request_s"])


def cpu_ceiling(
    rows: list[dict[str, Any]], capacity: int | None, delay_s: float, cores: float | None, cost: float | None
) -> float | None:
    """An unbounded server's model ceiling: where the CPU line of its steps kept up with (client on time)
    reaches its cores (``model.cpu_ceiling_rps``); ``None`` for a bounded one or without such a line."""
    if capacity is not None:
        return None
    kept = [(float(r["offered_rps"]), float(r["server_cpu_cores"])) for r in rows if r["status"] == "ok"
            and not r["client_lagged"] and model._measured(r.get("server_cpu_cores"))
            and model.kept_up(r, delay_s + (cost or 0.0))]  # fmt: skip
    return model.cpu_ceiling_rps(kept, cores)


def drain_rps(row: dict[str, Any], capacity: int | None, service_s: float, line: float | None = None) -> float | None:
    """The rate an unbounded server drained at in this step, measured: its achieved throughput where it fell
    behind, the offered rate where it kept up (no queue); where the client lagged, its achieved rate is the
    client's, so the CPU line's ceiling ``line``; ``None`` for a bounded server (its k / S)."""
    achieved = model._num(row.get("achieved_rps"))
    if capacity is not None or row.get("status") != "ok" or achieved is None:
        return None
    if row.get("client_lagged"):
        return line
    return float(row["offered_rps"]) if model.kept_up(row, service_s) else achieved


def build(steps: list[Step], *, settings: dict[str, Any], environment: dict[str, Any],
          capacities: dict[str, int | None], complete: bool, pictures: tuple[Any, ...] = (),
          rows: list[dict[str, Any]] | None = None) -> LoadReport:  # fmt: skip
    """The report of ``steps``; ``rows``: their ``step_row``s when already computed (one per step)."""
    delay = float(settings["delay_s"])
    poisson = settings.get("arrivals") == "poisson"
    cores = settings.get("server_cores") or environment.get("cores")
    given = rows if rows is not None and len(rows) == len(steps) else [step_row(s, delay_s=delay) for s in steps]
    measured = [dict(r) for r in given]  # the report adds the model's figures; the kept rows stay as measured
    costs = {server: cost_s([r for r in measured if r["server"] == server], capacities.get(server), delay)
             for server in dict.fromkeys(s.server for s in steps)}  # fmt: skip
    lines = {server: cpu_ceiling([r for r in measured if r["server"] == server], capacities.get(server), delay,
                                 cores, costs.get(server))
             for server in costs}  # fmt: skip
    rows = []
    for step, row in zip(steps, measured, strict=True):
        k, c = capacities.get(step.server), costs.get(step.server)
        row["predicted_rps"] = model.predicted_rps(step.offered_rps, k, delay)
        row["model_p50_s"] = model.predicted_latency_s(
            step.offered_rps, k, delay, poisson=poisson, duration_s=float(settings["duration_s"]),
            warmup_s=float(settings.get("warmup_s") or 0.0), cost_s=c or 0.0, cores=cores,
            timeout_s=float(settings.get("request_timeout_s") or math.inf),
            drain_rps=drain_rps(row, k, delay + (c or 0.0), lines.get(step.server)))  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows)
    results = []
    target = settings.get("target")
    limit, reached = client_limit_rps(rows)
    for server in dict.fromkeys(s.server for s in steps):
        server_rows = [r for r in rows if r["server"] == server and r["status"] == "ok"]
        found = model.assess(server, capacities.get(server), delay, server_rows, cost_s=costs.get(server),
                             cores=cores, client_limit_rps=limit, client_limit_reached=reached,
                             model_rps=lines.get(server))  # fmt: skip
        if not server_rows and (why := [r["reason"] for r in rows if r["server"] == server and r["reason"]]):
            found = replace(found, reason=why[0])  # nothing measured: say why (no ladder, failed to start)
        if target and not target.get("as") and target.get("capacity") is None:
            found = replace(found, predicted_rps=math.nan, verdict="not checked",
                            reason="no --as or --capacity: the target declares no k")  # fmt: skip
        results.append(found)
    intro = ("T" + target_line(target)[1:] + ".",) if target else ()
    return LoadReport("complete" if complete else "partial", settings, environment, frame, tuple(results),
                      tuple(steps), pictures, intro)  # fmt: skip
