"""One exporter per output format, behind one protocol; ``write`` puts them in place.

Each exporter renders a ``Report`` to text; ``write`` replaces the files
atomically, so a reader (or a crash) never sees half a report.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from harness.export.csv import CsvExporter
from harness.export.json import JsonExporter
from harness.export.markdown import MarkdownExporter
from harness.report import Report

R = TypeVar("R", contravariant=True)


class Exporter(Protocol[R]):
    """One output format: a file name and a renderer (compare and sweep reports alike)."""

    filename: str

    def render(self, report: R) -> str: ...


EXPORTERS: tuple[Exporter[Report], ...] = (MarkdownExporter(), JsonExporter(), CsvExporter())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` atomically, with the mode a plain ``open`` would give it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~UMASK)  # mkstemp's 0600 would hide reports from other users
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(report: R, out_dir: Path, exporters: Sequence[Exporter[R]] = EXPORTERS) -> list[Path]:  # type: ignore[assignment]
    """Render ``report`` with every exporter (the compare report's by default) and put each file in place."""
    paths = []
    for exporter in exporters:
        path = out_dir / exporter.filename
        write_text(path, exporter.render(report))
        paths.append(path)
    return paths
