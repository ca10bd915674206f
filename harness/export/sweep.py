"""The sweep's exporters, behind one protocol; ``write`` puts them in place.

Same shape as the compare report's (``harness.export``): each exporter renders a
``SweepReport`` to text, one module per format, and files are replaced atomically.
"""

from __future__ import annotations

from pathlib import Path

from harness.export import Exporter
from harness.export import write as write_all
from harness.export.sweep_csv import SweepCsvExporter, SweepRequestsCsvExporter
from harness.export.sweep_json import SweepJsonExporter
from harness.export.sweep_markdown import SweepMarkdownExporter
from harness.sweep_report import SweepReport

SWEEP_EXPORTERS: tuple[Exporter[SweepReport], ...] = (
    SweepMarkdownExporter(),
    SweepJsonExporter(),
    SweepCsvExporter(),
    SweepRequestsCsvExporter(),
)


def write(report: SweepReport, out_dir: Path) -> list[Path]:
    return write_all(report, out_dir, SWEEP_EXPORTERS)
