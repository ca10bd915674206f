"""The one registry of exporters, keyed by report kind; ``write`` puts a report's files in place.

Each feature renders its own kind of report (compare's ``Report``, the sweep's
``SweepReport``, the bench's ``BenchResult``, the load run's ``LoadReport``, a
Locust run's ``LocustReport``, the interpreters' ``InterpretersReport``) in its own
package; this layer above the features only names them. ``write`` replaces the
files atomically (``harness.core.exporting.write_all``), so a reader (or a crash)
never sees half a report. The schema names the JSON files carry are
``core.records.SCHEMAS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.bench.json import BenchJsonExporter
from harness.bench.markdown import BenchMarkdownExporter
from harness.compare.csv import CsvExporter
from harness.compare.json import JsonExporter
from harness.compare.markdown import MarkdownExporter
from harness.core.exporting import Exporter, write_all
from harness.core.records import ReportKind
from harness.interpreters.report import InterpretersJsonExporter, InterpretersMarkdownExporter
from harness.load.export import LoadJsonExporter, LoadMarkdownExporter, LoadRequestsCsvExporter
from harness.locust.export import LocustJsonExporter, LocustMarkdownExporter
from harness.sweep.csv import SweepCsvExporter, SweepRequestsCsvExporter
from harness.sweep.json import SweepJsonExporter
from harness.sweep.markdown import SweepMarkdownExporter

EXPORTERS: Mapping[ReportKind, tuple[Exporter[Any], ...]] = {
    "compare": (MarkdownExporter(), JsonExporter(), CsvExporter()),
    "sweep": (SweepMarkdownExporter(), SweepJsonExporter(), SweepCsvExporter(), SweepRequestsCsvExporter()),
    "bench": (BenchMarkdownExporter(), BenchJsonExporter()),
    "load": (LoadMarkdownExporter(), LoadJsonExporter(), LoadRequestsCsvExporter()),
    "interpreters": (InterpretersMarkdownExporter(), InterpretersJsonExporter()),
    "locust": (LocustMarkdownExporter(), LocustJsonExporter()),
}


def write(kind: ReportKind, report: object, out_dir: Path) -> list[Path]:
    """Render ``report`` (of ``kind``) with each of its exporters and put every file in place."""
    return write_all(report, out_dir, EXPORTERS[kind])


__all__ = ["EXPORTERS", "write"]
