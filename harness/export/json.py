"""``report.json``: the report's data for machines, with a schema version."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from harness.core.records import SCHEMAS

if TYPE_CHECKING:
    import pandas as pd

    from harness.compare.report import Report


def _clean(value: Any) -> Any:
    """NaN (not measured) becomes null; numpy scalars become Python ones."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    if value is None or value.__class__.__name__ == "NAType":
        return None
    return value


def provenance_and_environment(env: dict[str, Any]) -> dict[str, Any]:
    """The report's ``provenance`` (which commit, dirty or not, the command, when) at
    the top level, and the environment without it: every report carries both."""
    rest = {k: v for k, v in env.items() if k != "provenance"}
    return {"provenance": env.get("provenance"), "environment": rest}


def records(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    columns = [c for c in frame.columns if c not in drop]
    return [{str(k): _clean(v) for k, v in row.items()} for row in frame[columns].to_dict(orient="records")]


class JsonExporter:
    filename = "report.json"

    def render(self, report: Report) -> str:
        data = {
            "schema": SCHEMAS["compare"],
            "status": report.status,
            "notes": list(report.notes),
            "settings": report.settings,
            "pairings": records(report.pairings, drop=("client_concurrent",)),
            "claims": [asdict(c) for c in report.claims],
            "batches": records(report.batches),
            "phases": [asdict(p) for p in report.phases],
            **provenance_and_environment(report.environment),
        }
        return json.dumps(data, indent=2) + "\n"
