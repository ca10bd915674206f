"""The exporter protocol, and ``write_all``, which puts an exporter's files in place atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from harness.core.files import write_text

R = TypeVar("R", contravariant=True)


class Exporter(Protocol[R]):
    """One output format: a file name and a renderer (for one kind of report)."""

    filename: str

    def render(self, report: R) -> str: ...


def write_all(report: R, out_dir: Path, exporters: Sequence[Exporter[R]]) -> list[Path]:
    """Render ``report`` with every exporter and put each file in place."""
    paths = []
    for exporter in exporters:
        path = out_dir / exporter.filename
        write_text(path, exporter.render(report))
        paths.append(path)
    return paths
