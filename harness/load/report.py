"""The load run's report: every step's figures and each server's verdict, from the raw records.

Everything is derived from the steps' raw records (``steps.step_row``); the model
(``model``) is set beside each measurement, never in its place. The exporters
(``harness.load.export``, kind ``load`` in ``harness.export``) write ``load.md``, ``load.json`` and
``load-requests.csv`` from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

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


def build(steps: list[Step], *, settings: dict[str, Any], environment: dict[str, Any],
          capacities: dict[str, int | None], complete: bool, pictures: tuple[Any, ...] = ()) -> LoadReport:  # fmt: skip
    delay = float(settings["delay_s"])
    poisson = settings.get("arrivals") == "poisson"
    rows = []
    for step in steps:
        row = step_row(step, delay_s=delay)
        k = capacities.get(step.server)
        row["predicted_rps"] = model.predicted_rps(step.offered_rps, k, delay)
        row["predicted_latency_s"] = model.predicted_latency_s(step.offered_rps, k, delay, poisson=poisson,
                                                               duration_s=float(settings["duration_s"]))  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows)
    results = []
    for server in dict.fromkeys(s.server for s in steps):
        server_rows = [r for r in rows if r["server"] == server and r["status"] == "ok"]
        results.append(model.assess(server, capacities.get(server), delay, server_rows))
    return LoadReport("complete" if complete else "partial", settings, environment, frame, tuple(results),
                      tuple(steps), pictures)  # fmt: skip
