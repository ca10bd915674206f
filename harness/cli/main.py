"""The command line: ``python -m harness compare | sweep | serve | article | list | bench | diff | publish | load``
(and ``interpreters``, ``locust-report``, ``figures``).

The only place that turns errors into exit statuses and one-line messages:
0 all measured, 1 some pairings failed (or no Go, a failed build or calibration),
2 bad input (options, catalog file, a taken port), 130 Ctrl-C, 128 + n for signal n.
"""

from __future__ import annotations

import shlex
import sys

from rich.markup import escape

from harness.cli import (
    article,
    bench,
    compare,
    diff,
    figures,
    interpreters,
    listing,
    load,
    locust,
    publish,
    serve,
    sweep,
)
from harness.cli.options import Parser, console
from harness.core.errors import HarnessError, UsageError
from harness.core.process import Terminated, install_signal_handlers, signal_name


def parser() -> Parser:
    top = Parser(prog="harness", description="Go vs Python concurrent HTTP comparison harness")
    sub = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    compare.add_parser(sub)
    serve.add_parser(sub)
    article.add_parser(sub)
    bench.add_parser(sub)
    diff.add_parser(sub)
    publish.add_parser(sub, main=main)
    listing.add_parser(sub)
    sweep.add_parser(sub)
    load.add_parser(sub)
    interpreters.add_parser(sub)
    locust.add_parser(sub)
    figures.add_parser(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    install_signal_handlers()
    try:
        args = parser().parse_args(argv)
        args.argv = argv[1:]
        args.command_line = "python -m harness " + shlex.join(argv)
        return int(args.run(args))
    except UsageError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)  # [[server]] is not markup
        return 2
    except HarnessError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)  # [[server]] is not markup
        return 1
    except KeyboardInterrupt:
        console.print("interrupted (Ctrl-C); every process the harness started was stopped")
        return 130
    except Terminated as exc:
        console.print(f"terminated ({signal_name(exc)}); every process the harness started was stopped")
        return int(exc.code or 143)
