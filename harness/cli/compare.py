"""``python -m harness compare``: every client against every server, and the report."""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import export
from harness.cli.options import (
    DEFAULT_CLIENTS,
    DEFAULT_DELAY_S,
    DEFAULT_REPEATS,
    MAX_CLIENTS,
    QUICK_DELAY_S,
    QUICK_REPEATS,
    add_target_arguments,
    build_go,
    calibrate_cpu,
    console,
    cpu_list,
    cpu_text,
    delay_arg,
    load_catalog,
    make_target,
    names,
    settle_target,
    speaking,
    target_catalog,
    target_delay,
    writable,
)
from harness.cli.progress import ConsoleProgress
from harness.compare import report
from harness.compare.claims import Context
from harness.compare.results import RunResults
from harness.compare.runner import Plan, run_plan
from harness.core.calibration import WORK_KINDS
from harness.core.catalog import Catalog
from harness.core.environment import environment
from harness.core.errors import UsageError
from harness.core.paths import default_out
from harness.core.serving import CONNECTIONS, HTTP_VERSIONS
from harness.core.target import target_line

if TYPE_CHECKING:
    from harness.core.picture import Picture


def make_plan(args: argparse.Namespace, catalog: Catalog) -> Plan:
    if args.quick:
        if args.delay is not None or args.repeats is not None:
            raise UsageError("--quick sets --delay and --repeats itself; leave them out or drop --quick")
        args.delay, args.repeats = QUICK_DELAY_S, QUICK_REPEATS
    args.delay = DEFAULT_DELAY_S if args.delay is None else args.delay
    args.repeats = DEFAULT_REPEATS if args.repeats is None else args.repeats
    if not 1 <= args.clients <= MAX_CLIENTS:
        raise UsageError(f"--clients must be between 1 and {MAX_CLIENTS}, got {args.clients}")
    if args.repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {args.repeats}")
    by_server, by_client = catalog.servers_by_name, catalog.clients_by_name
    default = [s.name for s in catalog.servers if s.default]
    target = make_target(args, catalog)
    servers = [] if target else names(args.servers, by_server, default, "server", "--servers")
    clients = names(args.client_impls, by_client, [c.name for c in catalog.clients if c.default], "client",
                    "--client-impls")  # fmt: skip
    servers, clients = speaking(
        getattr(args, "http", "1.1"), [by_server[s] for s in servers], [by_client[c] for c in clients]
    )
    return Plan(
        target=target,
        server_cpus=cpu_list(args.server_cpus, "--server-cpus"),
        client_cpus=cpu_list(args.client_cpus, "--client-cpus"),
        servers=tuple(by_server[s] for s in servers),
        clients=tuple(by_client[c] for c in clients),
        http=getattr(args, "http", "1.1"),
        delay_s=target_delay(args) or 0.0,  # --delay auto: measured once the target is probed
        n_clients=args.clients,
        repeats=args.repeats,
        out_dir=writable(Path(args.out)),
        work=args.work,
        connections=args.connections,
    )


def cmd_compare(args: argparse.Namespace) -> int:
    setup_start = time.perf_counter()
    catalog = load_catalog(args)
    plan = make_plan(args, catalog)
    if plan.target is not None:  # before any batch: reachable, the answer it should give, D
        target, delay_s = settle_target(plan.target, args)
        plan = dataclasses.replace(plan, target=target, delay_s=delay_s)
        catalog = target_catalog(catalog, target)
    go = build_go([*plan.servers, *plan.clients])
    for old in [*(plan.out_dir / "logs").glob("*.log"), *(plan.out_dir / "pictures").glob("timeline-*")]:
        old.unlink()
    if plan.work == "cpu":
        plan = dataclasses.replace(plan, calibration=calibrate_cpu(plan.delay_s, go=go, log_dir=plan.out_dir / "logs"))
    settings = {
        "command": "python -m harness compare " + shlex.join(args.argv),
        "delay_s": plan.delay_s,
        "clients": plan.n_clients,
        "repeats": plan.repeats,
        "work": plan.work,
        "connections": plan.connections,
        "http": plan.http,
        "quick": bool(args.quick),
        "calibration": plan.calibration.to_dict() if plan.calibration else None,
        "servers": plan.server_names,
        "client_impls": [c.name for c in plan.clients],
        "server_cpus": cpu_text(plan.server_cpus) if plan.server_cpus else None,
        "client_cpus": cpu_text(plan.client_cpus) if plan.client_cpus else None,
        "target": plan.target.settings() if plan.target else None,
    }
    env = environment(
        go_version=go.version if go else None, log_path=plan.out_dir / "logs" / "git.log", command=args.command_line
    )
    if plan.server_cpus:  # the claims' cores are the server's: the CPUs it was pinned to
        env["cores"] = min(env["cores"], len(plan.server_cpus))
    env["server_cpus"], env["client_cpus"] = settings["server_cpus"], settings["client_cpus"]
    results = RunResults(plan.out_dir, settings, env, catalog)
    results.add_phase("setup", setup_start)
    start = results.origin

    def checkpoint() -> None:  # written while the next server starts; the runner settles it before measuring
        results.checkpoint_in_background(lambda: export.write("compare", report.build(results), plan.out_dir))

    def finish() -> None:
        # The measurement ends here: the pictures and the last rewrite come after it,
        # off the measuring path (the raw records are on disk already). After an
        # interrupt too, the pictures are drawn from what was measured.
        results.add_phase("run", start)
        pictures: tuple[Picture, ...] = ()
        # a timeline sets the handlers' enter/exit against the clients' send: one clock only
        drawable = plan.target is None or (plan.target.evidence and plan.target.shared_clock)
        if any(p.counted for p in results.pairings.values()) and drawable:
            with results.timed("report"):  # the timelines are part of the report
                from harness.compare import (
                    timelines as timeline_plots,  # matplotlib: loaded only when there is something to draw
                )

                pictures = tuple(timeline_plots.timelines(report.build(results), plan.out_dir))
        results.checkpoint(lambda: export.write("compare", report.build(results, pictures), plan.out_dir))

    total = len(plan.server_names) * len(plan.clients) * (plan.repeats + 1)
    context = Context.of(settings, env, catalog)
    if plan.target is not None:
        console.print(target_line(plan.target.settings()))
    console.print(
        f"{len(plan.server_names)} servers x {len(plan.clients)} clients, D = {plan.delay_s:g} s, "
        f"N = {plan.n_clients}, R = {plan.repeats} (+1 warm-up), {plan.work} work on {env['cores']} usable cores, "
        f"{plan.connections} connections, HTTP/{plan.http}: "
        f"{total} batches"
    )
    with results.running(finish), ConsoleProgress(total_batches=total, context=context, console=console) as progress:
        run_plan(plan, results, go=go, progress=progress, checkpoint=checkpoint)
    console.print(f"report: {plan.out_dir / 'report.md'} ({time.perf_counter() - start:.0f} s)")
    failed = results.failed()
    if failed:
        console.print(f"[red]{len(failed)} of {len(results.pairings)} pairings failed[/]; see the report")
        return 1
    return 0


def add_parser(sub: Any) -> None:
    """Register ``compare`` on the CLI's subcommands."""
    compare = sub.add_parser("compare", help="run every client against every server and write the report")
    compare.add_argument("--delay", type=delay_arg,
                         help=f"D, seconds each request is held (default {DEFAULT_DELAY_S:g}); auto: a --target's, "
                         "measured")  # fmt: skip
    compare.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="N, requests per batch (1..1000)")
    compare.add_argument("--repeats", type=int, help=f"R, counted batches per pairing (default {DEFAULT_REPEATS})")
    quick_help = f"a quick look: D = {QUICK_DELAY_S:g} s and {QUICK_REPEATS} counted batch; the report says so"
    compare.add_argument("--quick", action="store_true", help=quick_help)
    compare.add_argument("--servers", help="comma-separated server names, or all (default: the article's)")
    compare.add_argument("--client-impls", help="comma-separated client names, or all (default: the article's)")
    compare.add_argument("--out", default=str(default_out("compare")),
                         help="folder for the report (default: runs/compare/, git-ignored scratch; "
                         "--out results to publish)")  # fmt: skip
    compare.add_argument("--work", choices=WORK_KINDS, default="wait",
                         help="how handlers hold D: wait (the article) or cpu (compute for about D)")  # fmt: skip
    compare.add_argument("--connections", choices=CONNECTIONS, default="reuse",
                         help="reuse: the warm-up opens N connections and every batch reuses them (default); "
                         "fresh: a new connection for every request, as the article's program")  # fmt: skip
    compare.add_argument("--http", choices=HTTP_VERSIONS, default="1.1",
                         help="1.1: the article's (default); 2: h2c with prior knowledge, each client's N requests "
                         "as N streams of one connection (clients and servers that cannot are left out)")  # fmt: skip
    compare.add_argument("--catalog", help="TOML file with more [[server]] and [[client]] entries")
    add_target_arguments(compare)
    compare.add_argument(
        "--server-cpus",
        metavar="LIST",
        help="CPUs the servers may run on (0, 1, 0-1, 0,2); the claims count these cores",
    )
    compare.add_argument("--client-cpus", metavar="LIST", help="CPUs the clients may run on")
    compare.set_defaults(run=cmd_compare)
