"""``python -m harness figures``: the matrix heatmap and the parallelism chart, from published reports."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.options import console, writable
from harness.core.paths import default_out


def cmd_figures(args: argparse.Namespace) -> int:
    """Draw from ``--results``' all/ and cpu/ report.json into ``--out``; starts nothing."""
    from harness.compare import figures

    pictures = figures.draw(Path(args.results), writable(Path(args.out)))
    for p in pictures:
        console.print(f"{p.title}: {Path(args.out) / p.png}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``figures`` on the CLI's subcommands."""
    p = sub.add_parser("figures", help="the matrix heatmap and the parallelism chart from published reports")
    p.add_argument("--results", default="results", help="folder with all/ and cpu/report.json (default: results)")
    p.add_argument("--out", default=str(default_out("figures")), help="folder for the pictures (default: runs/figures)")
    p.set_defaults(run=cmd_figures)
