"""``sweep.json``: the sweep's points, capacities and environment, with a schema version."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from harness.core.exporting import provenance_and_environment, records
from harness.core.records import SCHEMAS

if TYPE_CHECKING:
    from harness.sweep.report import SweepReport


class SweepJsonExporter:
    filename = "sweep.json"

    def render(self, report: SweepReport) -> str:
        data = {
            "schema": SCHEMAS["sweep"],
            "status": report.status,
            "notes": list(report.notes),
            "settings": report.settings,
            "points": records(report.points),
            "capacity": [asdict(c) for c in report.capacity],
            "pictures": [asdict(p) for p in report.pictures],
            **provenance_and_environment(report.environment),
        }
        return json.dumps(data, indent=2) + "\n"
