"""One exporter per output format, behind one protocol; ``write`` puts them in place.

Each exporter renders a ``Report`` to text; ``write`` replaces the files
atomically, so a reader (or a crash) never sees half a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from harness.export.csv import CsvExporter
from harness.export.json import JsonExporter
from harness.export.markdown import MarkdownExporter
from harness.files import write_text
from harness.report import Report

R = TypeVar("R", contravariant=True)


class Exporter(Protocol[R]):
    """One output format: a file name and a renderer (compare and sweep reports alike)."""

    filename: str

    def render(self, report: R) -> str: ...


EXPORTERS: tuple[Exporter[Report], ...] = (MarkdownExporter(), JsonExporter(), CsvExporter())


def write(report: R, out_dir: Path, exporters: Sequence[Exporter[R]] = EXPORTERS) -> list[Path]:  # type: ignore[assignment]
    """Render ``report`` with every exporter (the compare report's by default) and put each file in place."""
    paths = []
    for exporter in exporters:
        path = out_dir / exporter.filename
        write_text(path, exporter.render(report))
        paths.append(path)
    return paths
