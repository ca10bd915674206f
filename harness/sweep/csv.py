"""``sweep.csv`` (one row per point) and ``sweep-requests.csv`` (every request, the raw truth)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.sweep.report import SweepReport


class SweepCsvExporter:
    filename = "sweep.csv"

    def render(self, report: SweepReport) -> str:
        return report.points.to_csv(index=False)


class SweepRequestsCsvExporter:
    filename = "sweep-requests.csv"

    def render(self, report: SweepReport) -> str:
        return report.requests.to_csv(index=False)
