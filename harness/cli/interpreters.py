"""``python -m harness interpreters``: the comparison's Python side under each CPython found.

Takes the options of ``compare`` (after ``--``-free flags: --delay, --repeats, --quick,
--servers, --client-impls, --connections) and ``--python PATH`` (repeatable) for
interpreters discovery cannot see. Writes ``interpreters.md`` and ``interpreters.json``
in ``--out``, each interpreter's own reports beside them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness import export
from harness.cli.options import console, load_catalog, names, writable
from harness.core.environment import provenance
from harness.core.errors import HarnessError, UsageError
from harness.core.paths import default_out
from harness.interpreters.discover import discover
from harness.interpreters.report import InterpretersReport, Run, rows_of
from harness.interpreters.runner import make_env, run_compare

DEFAULT_CLIENTS = ("httpx-async", "httpx-threads")


def cmd_interpreters(args: argparse.Namespace) -> int:
    catalog = load_catalog(args)
    python_servers = [s.name for s in catalog.servers if s.default and not s.needs_go]
    servers = names(args.servers, {s.name: s for s in catalog.servers if not s.needs_go}, python_servers,
                    "Python server", "--servers")  # fmt: skip
    clients = names(args.client_impls, {c.name: c for c in catalog.clients if not c.needs_go},
                    list(DEFAULT_CLIENTS), "Python client", "--client-impls")  # fmt: skip
    works = names(args.work, {"wait": 1, "cpu": 1}, ["wait", "cpu"], "work", "--work")
    out = writable(Path(args.out))
    log_dir = out / "logs"
    found, skipped = discover(tuple(args.python or ()), log_dir, discovery=not args.no_discovery)
    for line in skipped:
        console.print(f"skipped {line}")
    if not found:
        raise UsageError("no CPython 3.11 or newer found: name one with --python PATH")
    console.print(f"interpreters: {', '.join(i.label for i in found)}; works: {', '.join(works)}")
    compare_args = ["--servers", ",".join(servers), "--client-impls", ",".join(clients), "--connections",
                    args.connections]  # fmt: skip
    compare_args += ["--quick"] if args.quick else []
    compare_args += ["--delay", str(args.delay)] if args.delay is not None else []
    compare_args += ["--repeats", str(args.repeats)] if args.repeats is not None else []
    if args.catalog:
        compare_args += ["--catalog", str(Path(args.catalog).resolve())]
    runs: list[Run] = []
    meta: dict[str, Any] = {"command": args.command_line, "skipped": skipped, "interpreters": [i.label for i in found]}
    meta["commit"] = provenance(args.command_line, log_dir / "git.log")["commit"]
    failed = 0
    for interp in found:
        console.print(f"[bold]{interp.label}[/] ({interp.path}): making its environment")
        try:
            python = make_env(interp, log_dir)
        except HarnessError as exc:
            console.print(f"  [red]skipped:[/] {exc}")
            meta["skipped"] = [*meta["skipped"], str(exc)]
            continue
        for work in works:
            run_dir = out / interp.tag / work
            console.print(f"  {work}: python -m harness compare {' '.join(compare_args)} --work {work}")
            code = run_compare(python, interp, [*compare_args, "--work", work], run_dir, log_dir, console.print)
            failed += code != 0
            runs.append(Run(interp.label, interp.free_threaded, work, run_dir, code))
            rows = [row for r in runs for row in rows_of(r)]
            export.write("interpreters", InterpretersReport(rows, meta), out)
    console.print(f"report: {out / 'interpreters.md'}")
    return 1 if failed else 0


def add_parser(sub: Any) -> None:
    """Register ``interpreters`` on the CLI's subcommands."""
    p = sub.add_parser("interpreters", help="the Python servers and clients under each CPython found (3.11+)")
    p.add_argument("--python", action="append", help="an interpreter discovery cannot see (repeatable)")
    p.add_argument("--no-discovery", action="store_true", help="run only the interpreters named with --python")
    p.add_argument("--servers", help="Python servers (default: the article's Python ones)")
    p.add_argument("--client-impls", help=f"Python clients (default: {','.join(DEFAULT_CLIENTS)})")
    p.add_argument("--work", help="wait, cpu or wait,cpu (default: both)")
    p.add_argument("--delay", type=float, help="D, as for compare")
    p.add_argument("--repeats", type=int, help="R, as for compare")
    p.add_argument("--quick", action="store_true", help="compare's --quick for every run")
    p.add_argument("--connections", choices=("reuse", "fresh"), default="reuse")
    p.add_argument("--catalog", help="TOML file with more [[server]] entries")
    p.add_argument("--out", default=str(default_out("interpreters")), help="folder (default: runs/interpreters/)")
    p.set_defaults(run=cmd_interpreters)
