"""``python -m harness locust-report``: a Locust run's CSV files and evidence lines as ``locust.md``/``.json``;
``locust-run``: one such run on this host (a catalog server, a master and workers on loopback), then its report.

Locust itself runs the load (``locust -f python/locustfile.py --csv PREFIX ...``, one
master and workers on any hosts: docs/many-clients.md); this command only reads what
it left behind, so it starts no process and needs no Locust installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness import export
from harness.cli.options import build_go, console, delay, writable
from harness.core.catalog import CATALOG
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


DEFAULT_SERVER = "go-nethttp"
DEFAULT_DELAY_S = 0.2


def cmd_locust_run(args: argparse.Namespace) -> int:
    """Run Locust against a catalog server on this host, then write its report beside the files it left."""
    from harness.locust import runner

    runner.needs_locust()
    spec = CATALOG.servers_by_name.get(args.server)
    if spec is None:
        raise UsageError(f"unknown --server {args.server!r}; known: {', '.join(CATALOG.servers_by_name)}")
    for flag, value, top in (("--users", args.users, MAX_CLIENTS), ("--workers", args.workers, 64),
                             ("--time", args.time, 3600), ("--clients", args.clients, MAX_CLIENTS)):  # fmt: skip
        if not 1 <= value <= top:
            raise UsageError(f"{flag} must be from 1 to {top}, got {value}")
    out = writable(Path(args.out))
    d = delay(args.delay)
    plan = runner.LocustPlan(spec, d, args.users, args.workers, args.time, args.clients, out)
    console.print(f"Locust: {args.users} users x {args.clients} requests, {args.workers} workers, {args.time} s, "
                  f"against {spec.name} at D = {d:g} s")  # fmt: skip
    go = build_go([spec])
    runner.run(plan, go=go)
    report = build(
        str(plan.prefix),
        evidence_dir=plan.evidence_dir,
        delay_s=d,
        clients=args.clients,
        command=args.command_line,
        environment=environment(
            go_version=go.version if go else None, log_path=out / "logs" / "git.log", command=args.command_line
        ),
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
    r = sub.add_parser("locust-run", help="run Locust (a master and workers) against a catalog server on this host")
    r.add_argument("--server", default=DEFAULT_SERVER, help=f"the catalog server (default: {DEFAULT_SERVER})")
    r.add_argument("--delay", type=float, default=DEFAULT_DELAY_S, help=f"D in seconds (default: {DEFAULT_DELAY_S})")
    r.add_argument("--users", type=int, default=4, help="Locust users, each sending batches (default: 4)")
    r.add_argument("--workers", type=int, default=2, help="Locust worker processes (default: 2)")
    r.add_argument("--time", type=int, default=10, help="seconds Locust runs (default: 10)")
    r.add_argument("--clients", type=int, default=5, help="N requests per batch (default: 5)")
    r.add_argument("--out", default=str(default_out("locust")),
                   help="folder for the CSV, the evidence and locust.md (default: runs/locust/)")  # fmt: skip
    r.set_defaults(run=cmd_locust_run)
