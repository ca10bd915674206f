"""``python -m harness locust-report``: a Locust run's CSV files and evidence lines as ``locust.md``/``.json``.

Locust itself runs the load (``locust -f python/locustfile.py --csv PREFIX ...``, one
master and workers on any hosts: docs/many-clients.md); this command only reads what
it left behind, so it starts no process and needs no Locust installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness import export
from harness.cli.options import console, delay, writable
from harness.core.environment import environment
from harness.core.errors import UsageError
from harness.core.paths import default_out
from harness.locust.report import build

MAX_CLIENTS = 10_000


def cmd_locust_report(args: argparse.Namespace) -> int:
    if args.clients is not None and not 1 <= args.clients <= MAX_CLIENTS:
        raise UsageError(f"--clients must be from 1 to {MAX_CLIENTS}, got {args.clients}")
    out = writable(Path(args.out))
    report = build(
        args.csv,
        evidence_dir=Path(args.evidence) if args.evidence else None,
        delay_s=delay(args.delay) if args.delay is not None else None,
        clients=args.clients,
        command=args.command_line,
        environment=environment(go_version=None, log_path=out / "logs" / "git.log", command=args.command_line),
    )
    export.write("locust", report, out)
    console.print(f"report: {out / 'locust.md'}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``locust-report`` on the CLI's subcommands."""
    p = sub.add_parser("locust-report", help="a Locust run (python/locustfile.py, any number of hosts) as tables")
    p.add_argument("--csv", required=True, metavar="PREFIX", help="what Locust was given as --csv PREFIX")
    p.add_argument("--evidence", metavar="DIR", help="the workers' HARNESS_EVIDENCE_DIR (all hosts' files together)")
    p.add_argument("--delay", type=float, help="D the server held each request (default: the handlers' median hold)")
    p.add_argument("--clients", type=int, help="N requests per batch (default: from the 'batch of N' rows)")
    p.add_argument("--out", default=str(default_out("locust")), help="folder for locust.md (default: runs/locust/)")
    p.set_defaults(run=cmd_locust_report)
