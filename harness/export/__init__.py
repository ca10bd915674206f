"""One exporter per output format, one registry keyed by report kind; ``write`` puts them in place.

Each exporter renders one kind of report (compare's ``Report``, the sweep's
``SweepReport``, the bench's ``BenchResult``, the load run's ``LoadReport``, a
Locust run's ``LocustReport``) to text; ``write`` replaces the files atomically, so
a reader (or a crash) never sees half a report. The schema names the JSON files
carry are ``core.records.SCHEMAS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.core.records import ReportKind
from harness.export.base import Exporter, write_all
from harness.export.bench_json import BenchJsonExporter
from harness.export.bench_markdown import BenchMarkdownExporter
from harness.export.csv import CsvExporter
from harness.export.json import JsonExporter
from harness.export.load import LoadJsonExporter, LoadMarkdownExporter, LoadRequestsCsvExporter
from harness.export.locust import LocustJsonExporter, LocustMarkdownExporter
from harness.export.markdown import MarkdownExporter
from harness.export.sweep_csv import SweepCsvExporter, SweepRequestsCsvExporter
from harness.export.sweep_json import SweepJsonExporter
from harness.export.sweep_markdown import SweepMarkdownExporter
from harness.interpreters.report import InterpretersJsonExporter, InterpretersMarkdownExporter

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


__all__ = ["EXPORTERS", "Exporter", "write", "write_all"]
