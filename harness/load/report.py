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


def build(steps: list[Step], *, settings: dict[str, Any], environment: dict[str, Any],
          capacities: dict[str, int | None], complete: bool, pictures: tuple[Any, ...] = (),
          rows: list[dict[str, Any]] | None = None) -> LoadReport:  # fmt: skip
    """The report of ``steps``; ``rows``: their ``step_row``s when already computed (one per step)."""
    delay = float(settings["delay_s"])
    poisson = settings.get("arrivals") == "poisson"
    given = rows if rows is not None and len(rows) == len(steps) else [step_row(s, delay_s=delay) for s in steps]
    rows = []
    for step, computed in zip(steps, given, strict=True):
        row = dict(computed)  # the report adds the model's figures; the kept row stays as measured
        k = capacities.get(step.server)
        row["predicted_rps"] = model.predicted_rps(step.offered_rps, k, delay)
        row["predicted_latency_s"] = model.predicted_latency_s(step.offered_rps, k, delay, poisson=poisson,
                                                               duration_s=float(settings["duration_s"]))  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows)
    results = []
    target = settings.get("target")
    for server in dict.fromkeys(s.server for s in steps):
        server_rows = [r for r in rows if r["server"] == server and r["status"] == "ok"]
        found = model.assess(server, capacities.get(server), delay, server_rows)
        if target and not target.get("as") and target.get("capacity") is None:
            found = replace(found, predicted_rps=math.nan, verdict="not checked",
                            reason="no --as or --capacity: the target declares no k")  # fmt: skip
        results.append(found)
    intro = ("T" + target_line(target)[1:] + ".",) if target else ()
    return LoadReport("complete" if complete else "partial", settings, environment, frame, tuple(results),
                      tuple(steps), pictures, intro)  # fmt: skip
