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
    build_go,
    calibrate_cpu,
    console,
    cpu_list,
    cpu_text,
    delay,
    load_catalog,
    names,
    writable,
)
from harness.cli.progress import ConsoleProgress
from harness.compare import report
from harness.compare.claims import Context
from harness.compare.results import RunResults
from harness.compare.runner import Plan, Target, run_plan
from harness.core.calibration import WORK_KINDS
from harness.core.catalog import Catalog
from harness.core.environment import environment
from harness.core.errors import UsageError
from harness.core.paths import default_out
from harness.core.serving import CONNECTIONS, is_loopback
from harness.core.target import probe, target_url

TARGET_CLOCKS = ("same", "other")

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
    target = make_target(args, catalog) if args.target else None
    if target is None and (args.as_server or args.target_clock):
        raise UsageError("--as and --target-clock describe a --target; give one or leave them out")
    servers = [] if target else names(args.servers, by_server, default, "server", "--servers")
    clients = names(args.client_impls, by_client, list(by_client), "client", "--client-impls")
    return Plan(
        target=target,
        server_cpus=cpu_list(args.server_cpus, "--server-cpus"),
        client_cpus=cpu_list(args.client_cpus, "--client-cpus"),
        servers=tuple(by_server[s] for s in servers),
        clients=tuple(by_client[c] for c in clients),
        delay_s=delay(args.delay),
        n_clients=args.clients,
        repeats=args.repeats,
        out_dir=writable(Path(args.out)),
        work=args.work,
        connections=args.connections,
    )


def make_target(args: argparse.Namespace, catalog: Catalog) -> Target:
    """The ``--target`` of this run, checked in one line each: what the harness did not start
    it cannot set up (servers, their CPUs, their kind of work)."""
    for flag, given in (("--servers", args.servers), ("--server-cpus", args.server_cpus)):
        if given is not None:
            raise UsageError(f"{flag} is for servers the harness starts; with --target the server is already running")
    if args.work != "wait":
        raise UsageError("--work cpu needs servers the harness starts (it sets their work); a --target only waits")
    if args.as_server is not None and args.as_server not in catalog.servers_by_name:
        raise UsageError(f"unknown server {args.as_server!r} in --as; valid: {', '.join(catalog.servers_by_name)}")
    url, host_port = target_url(args.target)
    host = host_port.rsplit(":", 1)[0].strip("[]")
    try:
        local = is_loopback(host)
    except ValueError:
        local = host == "localhost"
    clock = args.target_clock or ("same" if local else "other")
    return Target(
        url=url,
        name=args.as_server or host_port,
        declared=args.as_server is not None,
        shared_clock=clock == "same",
    )


def cmd_compare(args: argparse.Namespace) -> int:
    setup_start = time.perf_counter()
    catalog = load_catalog(args)
    plan = make_plan(args, catalog)
    probed = None
    if plan.target is not None:  # before any batch: reachable, the article's JSON, the same D
        probed = probe(plan.target.url, plan.delay_s)
        plan = dataclasses.replace(plan, target=dataclasses.replace(plan.target, evidence=probed.evidence))
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
        "quick": bool(args.quick),
        "calibration": plan.calibration.to_dict() if plan.calibration else None,
        "servers": plan.server_names,
        "client_impls": [c.name for c in plan.clients],
        "server_cpus": cpu_text(plan.server_cpus) if plan.server_cpus else None,
        "client_cpus": cpu_text(plan.client_cpus) if plan.client_cpus else None,
        "target": target_settings(plan.target, probed),
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

    def checkpoint() -> None:
        with results.timed("report"):
            results.checkpoint(lambda: export.write("compare", report.build(results), plan.out_dir))

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
        clock = (
            "one clock with this host"
            if plan.target.shared_clock
            else "its own clock (client vs server order not checked)"
        )
        evidence = "evidence fields" if plan.target.evidence else "no evidence fields (claims not checked)"
        console.print(
            f"target {plan.target.name} at {plan.target.url}: not started by the harness; {evidence}; {clock}"
        )
    console.print(
        f"{len(plan.server_names)} servers x {len(plan.clients)} clients, D = {plan.delay_s:g} s, "
        f"N = {plan.n_clients}, R = {plan.repeats} (+1 warm-up), {plan.work} work on {env['cores']} usable cores, "
        f"{plan.connections} connections: "
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


def target_settings(target: Target | None, probed: Any) -> dict[str, Any] | None:
    """What the report says about a --target."""
    if target is None:
        return None
    return {
        "url": target.url,
        "name": target.name,
        "as": target.name if target.declared else None,
        "clock": "same" if target.shared_clock else "other",
        "evidence": target.evidence,
        "probe_held_s": getattr(probed, "held_s", None),
        "probe_round_trip_s": getattr(probed, "round_trip_s", None),
    }


def add_parser(sub: Any) -> None:
    """Register ``compare`` on the CLI's subcommands."""
    compare = sub.add_parser("compare", help="run every client against every server and write the report")
    compare.add_argument("--delay", type=float, help=f"D, seconds each request is held (default {DEFAULT_DELAY_S:g})")
    compare.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="N, requests per batch (1..1000)")
    compare.add_argument("--repeats", type=int, help=f"R, counted batches per pairing (default {DEFAULT_REPEATS})")
    quick_help = f"a quick look: D = {QUICK_DELAY_S:g} s and {QUICK_REPEATS} counted batch; the report says so"
    compare.add_argument("--quick", action="store_true", help=quick_help)
    compare.add_argument("--servers", help="comma-separated server names, or all (default: the article's)")
    compare.add_argument("--client-impls", help="comma-separated client names, or all (default: all)")
    compare.add_argument("--out", default=str(default_out("compare")),
                         help="folder for the report (default: runs/compare/, git-ignored scratch; "
                         "--out results to publish)")  # fmt: skip
    compare.add_argument("--work", choices=WORK_KINDS, default="wait",
                         help="how handlers hold D: wait (the article) or cpu (compute for about D)")  # fmt: skip
    compare.add_argument("--connections", choices=CONNECTIONS, default="reuse",
                         help="reuse: the warm-up opens N connections and every batch reuses them (default); "
                         "fresh: a new connection for every request, as the article's program")  # fmt: skip
    compare.add_argument("--catalog", help="TOML file with more [[server]] and [[client]] entries")
    compare.add_argument("--target", metavar="URL",
                         help="measure a server the harness did not start (another machine, `harness serve --host`); "
                         "no server is started, it is probed once first")  # fmt: skip
    compare.add_argument(
        "--as",
        dest="as_server",
        metavar="SERVER",
        help="the catalog server the --target runs: its claims and capacity apply (else none)",
    )
    compare.add_argument("--target-clock", choices=TARGET_CLOCKS,
                         help="same: the --target shares this host's monotonic clock (loopback, a network namespace),"
                         " so client and handler stamps are checked against each other; other (default unless "
                         "the target is on loopback): another machine, not checked")  # fmt: skip
    compare.add_argument(
        "--server-cpus",
        metavar="LIST",
        help="CPUs the servers may run on (0, 1, 0-1, 0,2); the claims count these cores",
    )
    compare.add_argument("--client-cpus", metavar="LIST", help="CPUs the clients may run on")
    compare.set_defaults(run=cmd_compare)
