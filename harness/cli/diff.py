"""``python -m harness diff OLD NEW``: two report.json files side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.options import (
    console,
)
from harness.core.errors import UsageError


def cmd_diff(args: argparse.Namespace) -> int:
    """Exit 1 when a verdict changed (for CI), 0 when every verdict is the same."""
    from harness.compare import diff
    from harness.core.files import write_text

    result = diff.diff(Path(args.old), Path(args.new), force=args.force)
    text = diff.render(result)
    if args.out:
        try:
            write_text(Path(args.out), text)
        except OSError as exc:
            raise UsageError(f"cannot write --out {args.out!r} ({exc.strerror}): choose another path") from exc
        console.print(f"diff: {args.out}")
    else:
        sys.stdout.write(text)
    return 1 if result.verdicts_changed else 0


def add_parser(sub: Any) -> None:
    """Register ``diffing`` on the CLI's subcommands."""
    diffing = sub.add_parser("diff", help="put two report.json files side by side: did a rerun reproduce a run?")
    diffing.add_argument("old", help="the report.json to compare against (e.g. a published one)")
    diffing.add_argument("new", help="the report.json of the rerun")
    diffing.add_argument("--out", help="write the markdown here instead of to stdout")
    diffing.add_argument("--force", action="store_true", help="compare reports with a different D or N anyway")
    diffing.set_defaults(run=cmd_diff)
