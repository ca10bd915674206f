"""``requests.csv``: one row per request, the raw evidence behind every table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.compare.report import Report


class CsvExporter:
    filename = "requests.csv"

    def render(self, report: Report) -> str:
        return report.requests.to_csv(index=False)
