"""``report.json``: the report's data for machines, with a schema version."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from harness.core.exporting import provenance_and_environment, records
from harness.core.records import SCHEMAS

if TYPE_CHECKING:
    from harness.compare.report import Report


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
