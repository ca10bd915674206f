"""``python -m harness publish``: every published artefact regenerated, then the README's tables."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cli.options import (
    console,
    names,
)
from harness.core.errors import UsageError


def cmd_publish(args: argparse.Namespace) -> int:
    """Every published artefact from the current, committed code, then the README's tables."""
    from harness.compare import publish
    from harness.core.environment import provenance

    parts = {p.name: p for p in publish.PARTS}
    chosen = names(args.parts, parts, list(publish.DEFAULT_PARTS), "part", "--parts")
    if not args.readme_only:
        prov = provenance(args.command_line, Path(tempfile.mkdtemp(prefix="harness-publish-")) / "git.log")
        if prov["dirty"] is not False:
            raise UsageError(
                "the code (harness/, go/, python/, pyproject.toml, noxfile.py) has uncommitted changes or no git: "
                "commit first, a published report must name the commit that made it"
            )
        failed = publish.publish(
            [parts[name] for name in chosen],
            args.main,
            announce=lambda part: console.print(
                f"[bold]publish {part.name}[/]: {part.what} (python -m harness {' '.join(part.argv)})"
            ),
        )
        if failed is not None:
            part, code = failed
            console.print(
                f"[red]publish stopped:[/] {part.name} exited with status {code}; results/ and the README are unchanged"
            )
            return code
        console.print(f"results/: {', '.join(chosen)} swapped in; the README's blocks regenerated from them")
        pages = publish.refresh_docs()
        console.print(f"docs: the generated lists regenerated in {', '.join(pages) or 'no page'}")
        return 0
    text = publish.README.read_text(encoding="utf-8")
    fresh = publish.refresh(text)
    if fresh != text:
        publish.README.write_text(fresh, encoding="utf-8")
    console.print(f"README: {len(publish.MARKER.findall(fresh))} result blocks regenerated from results/")
    pages = publish.refresh_docs()
    console.print(f"docs: the generated lists regenerated in {', '.join(pages) or 'no page'}")
    return 0


def add_parser(sub: Any, *, main: Callable[[list[str]], int]) -> None:
    """Register ``publishing`` on the CLI's subcommands."""
    publishing = sub.add_parser("publish", help="regenerate every published result from the committed code")
    from harness.compare.publish import PARTS

    publishing.add_argument("--parts", help=f"comma-separated, from {','.join(p.name for p in PARTS)} (default: all)")
    publishing.add_argument("--readme-only", action="store_true",
                            help="only rewrite the README's result blocks and the docs' catalog lists")  # fmt: skip
    publishing.set_defaults(run=cmd_publish, main=main)
