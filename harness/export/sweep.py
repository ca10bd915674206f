"""The sweep's exporters, behind one protocol; ``write`` puts them in place.

Same shape as the compare report's (``harness.export``): each exporter renders a
``SweepReport`` to text, one module per format, and files are replaced atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from harness.export import write_text
from harness.export.sweep_csv import SweepCsvExporter, SweepRequestsCsvExporter
from harness.export.sweep_json import SweepJsonExporter
from harness.export.sweep_markdown import SweepMarkdownExporter
from harness.sweep_report import SweepReport


class SweepExporter(Protocol):
    filename: str

    def render(self, report: SweepReport) -> str: ...


SWEEP_EXPORTERS: tuple[SweepExporter, ...] = (
    SweepMarkdownExporter(),
    SweepJsonExporter(),
    SweepCsvExporter(),
    SweepRequestsCsvExporter(),
)


def write(report: SweepReport, out_dir: Path, exporters: tuple[SweepExporter, ...] = SWEEP_EXPORTERS) -> list[Path]:
    paths = []
    for exporter in exporters:
        path = out_dir / exporter.filename
        write_text(path, exporter.render(report))
        paths.append(path)
    return paths
