"""``python -m harness sweep``: its options, its progress lines, and the run itself.

Registered by ``cli.main.parser``; errors still reach the user through ``cli.main.main``
(one line, exit 2 for bad input). Exit status: 0 every point measured or skipped by
the budget rule (over-budget points are results, not failures), 1 a server failed to
start or died, or a client failed at some point.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from harness import export
from harness.cli.options import (
    MAX_CLIENTS,
    add_target_arguments,
    build_go,
    calibrate_cpu,
    console,
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
from harness.core.calibration import WORK_KINDS
from harness.core.catalog import Catalog
from harness.core.environment import environment
from harness.core.errors import UsageError
from harness.core.evidence import evidence
from harness.core.paths import default_out
from harness.core.serving import HTTP_VERSIONS
from harness.core.target import target_line
from harness.sweep import report as sweep_report
from harness.sweep.runner import (
    DEFAULT_BUDGET_S,
    DEFAULT_CLIENT,
    DEFAULT_DELAY_S,
    DEFAULT_LADDER,
    SweepPlan,
    SweepPoint,
    SweepProgress,
    SweepResults,
    raise_open_files_limit,
    run_sweep,
)

if TYPE_CHECKING:
    from harness.core.picture import Picture

MAX_BUDGET_S = 600.0
"""The longest --budget, seconds per point. A point can take about its budget and a
stuck client is waited for ``sweep.HARD_WAIT_FACTOR`` x budget + slack, so at this
budget one point may hold the sweep for half an hour; it still holds 24 waves of the
longest D (``cli.options.MAX_DELAY_S``). Far beyond it a value is a typo (1e6 s is eleven
days), better refused in one line up front than by a client many lines later."""
CLIENT_REASON_DEFAULT = "the default: the article's client, one goroutine per request (docs/sweep.md: how to compare)"
CLIENT_REASON_CHOSEN = "chosen with --client-impls"


def parse_ladder(value: str | None, max_clients: int) -> tuple[int, ...]:
    if not 1 <= max_clients <= MAX_CLIENTS:
        raise UsageError(f"--max-clients must be between 1 and {MAX_CLIENTS}, got {max_clients}")
    if value is None:
        ladder: tuple[int, ...] = DEFAULT_LADDER
    else:
        try:
            ladder = tuple(int(v) for v in value.split(",") if v.strip())
        except ValueError:
            raise UsageError(f"--ladder must be comma-separated whole numbers, e.g. 1,2,5,10; got {value!r}") from None
        if not ladder or any(not 1 <= n <= MAX_CLIENTS for n in ladder):
            raise UsageError(f"--ladder values must be between 1 and {MAX_CLIENTS}, got {value!r}")
    kept = tuple(sorted({n for n in ladder if n <= max_clients}))
    if not kept:
        raise UsageError(f"--max-clients {max_clients} leaves nothing of the ladder {','.join(map(str, ladder))}")
    return kept


def make_plan(args: argparse.Namespace, catalog: Catalog) -> SweepPlan:
    ladder = parse_ladder(args.ladder, args.max_clients)
    delay_s = target_delay(args)  # None: --delay auto, a --target's D measured after the probe
    check_budget(args.budget, delay_s or 0.0)
    by_server, by_client = catalog.servers_by_name, catalog.clients_by_name
    default = [s.name for s in catalog.servers if s.default]
    target = make_target(args, catalog)
    servers = [] if target else names(args.servers, by_server, default, "server", "--servers")
    if "," in args.client_impls:
        raise UsageError(f"the sweep runs one client, got {args.client_impls!r} in --client-impls; name one")
    if args.client_impls not in by_client:
        raise UsageError(f"unknown client {args.client_impls!r} in --client-impls; valid: {', '.join(by_client)}")
    client = by_client[args.client_impls]
    if not client.concurrent:
        valid = ", ".join(c.name for c in catalog.clients if c.concurrent)
        raise UsageError(f"--client-impls {client.name} does not send its requests at once; choose one of {valid}")
    http = getattr(args, "http", "1.1")
    if http != "1.1" or any(not by_server[s].serves("1.1") for s in servers):
        servers, _ = speaking(http, [by_server[s] for s in servers], [client])
    return SweepPlan(
        http=http,
        servers=tuple(by_server[s] for s in servers),
        client=client,
        ladder=ladder,
        delay_s=delay_s or 0.0,
        budget_s=args.budget,
        out_dir=writable(Path(args.out)),
        work=args.work,
        target=target,
        target_spec=target_catalog(catalog, target).servers_by_name.get(target.name) if target else None,
    )


def check_budget(budget_s: float, delay_s: float) -> None:
    if not delay_s < budget_s <= MAX_BUDGET_S:  # also refuses nan
        raise UsageError(
            f"--budget must be a number of seconds more than D ({delay_s:g} s) and at most {MAX_BUDGET_S:g}, "
            f"got {budget_s:g}"
        )


class ConsoleSweepProgress(SweepProgress):
    """One line per server and per point."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def server_starting(self, server: str, ladder: tuple[int, ...]) -> None:
        self.console.print(f"[bold]{server}[/]: N = {', '.join(map(str, ladder))}")

    def server_ready(self, server: str, seconds: float | None) -> None:
        self.console.print("  already running (a --target)" if seconds is None else f"  ready in {seconds:.2f} s")

    def server_failed(self, server: str, reason: str) -> None:
        self.console.print(f"  [red]failed:[/] {reason}")

    def point_done(self, point: SweepPoint) -> None:
        if point.batch is None:
            said = point.reason if point.reason.startswith(point.status) else f"{point.status}: {point.reason}"
            self.console.print(f"  N={point.clients:<5} {said}")
            return
        ev = evidence(point.batch.requests)
        r = point.resources
        res = (
            f"RSS {r.peak_rss_bytes / 2**20:.0f} MiB, threads {r.idle_threads}->{r.peak_threads}, "
            f"CPU {r.cpu_s:.2f} s (machine {r.machine_busy:.0%} busy)"
            if r
            else ""
        )
        failed = f", [red]{len(point.batch.failed)} failed[/]" if point.batch.failed else ""
        seen = (
            f"in flight {ev.max_in_flight:<5} {ev.processes} proc / {ev.threads} thr"
            if any(r.pid is not None for r in point.batch.requests)
            else "no evidence fields"  # a --target that does not send them
        )
        self.console.print(
            f"  N={point.clients:<5} {point.batch.ratio:6.2f}x  {seen}  {res}{failed}"
            + (f"  [yellow]{point.status}[/]" if point.status != "ok" else "")
        )


def cmd_sweep(args: argparse.Namespace) -> int:
    catalog = load_catalog(args)
    plan = make_plan(args, catalog)
    if plan.target is not None:  # before any batch: reachable, the answer it should give, D
        target, delay_s = settle_target(plan.target, args)
        check_budget(plan.budget_s, delay_s)
        plan = dataclasses.replace(plan, target=target, delay_s=delay_s)
        catalog = target_catalog(catalog, target)
    go = build_go([*plan.servers, plan.client])
    for old in [*(plan.out_dir / "logs" / "sweep").glob("*.log"), *(plan.out_dir / "pictures").glob("sweep-*")]:
        old.unlink()
    open_files = raise_open_files_limit()
    if plan.work == "cpu":
        plan = dataclasses.replace(plan, calibration=calibrate_cpu(plan.delay_s, go=go, log_dir=plan.out_dir / "logs"))
    settings: dict[str, Any] = {
        "command": "python -m harness sweep " + shlex.join(args.argv),
        "delay_s": plan.delay_s,
        "budget_s": plan.budget_s,
        "ladder": list(plan.ladder),
        "ladders": {name: list(ladder) for name, ladder in plan.ladders.items()},
        "client": plan.client.name,
        "client_reason": CLIENT_REASON_DEFAULT if plan.client.name == DEFAULT_CLIENT else CLIENT_REASON_CHOSEN,
        "servers": list(plan.ladders),
        "open_files_limit": open_files,
        "work": plan.work,
        "http": plan.http,
        "calibration": plan.calibration.to_dict() if plan.calibration else None,
    }
    if plan.target is not None:
        settings["target"] = plan.target.settings()
    if open_files < 2 * max(plan.ladder) + 64:
        console.print(f"[yellow]warning:[/] the open-files limit is {open_files}; large N may fail to connect")
    results = SweepResults(
        plan.out_dir,
        settings,
        environment(
            go_version=go.version if go else None, log_path=plan.out_dir / "logs" / "git.log", command=args.command_line
        ),
        catalog,
    )
    start = results.origin

    def write(pictures: tuple[Picture, ...] = ()) -> None:
        export.write("sweep", sweep_report.build(results, pictures), plan.out_dir)

    def checkpoint(pictures: tuple[Picture, ...] = ()) -> None:
        results.checkpoint(lambda: write(pictures))

    def finish() -> None:
        checkpoint()
        report = sweep_report.build(results)
        if len(report.points):  # after an interrupt too: the pictures of what was measured
            from harness.sweep import plot as sweep_plots  # matplotlib: loaded only when there is something to draw

            with console.status("drawing the pictures"):
                drawn = time.perf_counter()
                pictures = sweep_plots.sweep_pictures(
                    report, out_dir=plan.out_dir / "pictures", report_dir=plan.out_dir
                )
                settings["pictures_s"] = time.perf_counter() - drawn
            write(tuple(pictures))

    points = sum(len(ladder) for ladder in plan.ladders.values())
    if plan.target is not None:
        sampled = "" if plan.target.server_pid else "; its resources are not sampled"
        console.print(target_line(plan.target.settings()) + sampled)
    console.print(
        f"sweep: {len(plan.ladders)} servers, {points} points, client {plan.client.name}, "
        f"D = {plan.delay_s:g} s, budget {plan.budget_s:g} s per point"
    )
    with results.running(finish):
        run_sweep(plan, results, go=go, progress=ConsoleSweepProgress(console), checkpoint=checkpoint)
    console.print(f"report: {plan.out_dir / 'sweep.md'} ({time.perf_counter() - start:.0f} s)")
    failed = [p for p in results.points if p.status == "failed"]
    if results.failures or failed:
        console.print(f"[red]{len(failed)} point(s) failed[/]; see the report")
        return 1
    return 0


def add_parser(sub: Any) -> None:
    """Register ``sweep`` on the CLI's subcommands."""
    sweep = sub.add_parser("sweep", help="N = 1 .. 1000 requests at once per server: capacity, resources, pictures")
    sweep.add_argument("--servers", help="comma-separated server names, or all (default: the article's nine)")
    sweep.add_argument(
        "--client-impls", default=DEFAULT_CLIENT, help=f"the client that sends the batches (default: {DEFAULT_CLIENT})"
    )
    sweep.add_argument("--delay", type=delay_arg, default=DEFAULT_DELAY_S,
                       help="D, seconds each request is held; auto: a --target's, measured")  # fmt: skip
    sweep.add_argument("--ladder", help="comma-separated N (default: 1,2,5,10,20,50,100,200,500,1000)")
    sweep.add_argument("--max-clients", type=int, default=MAX_CLIENTS, help="drop ladder points above this")
    sweep.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_S,
        help=f"seconds per point before its requests time out: more than D, at most {MAX_BUDGET_S:g} "
        f"(default: {DEFAULT_BUDGET_S:g})",
    )
    sweep.add_argument("--out", default=str(default_out("sweep")),
                       help="folder for the report (default: runs/sweep/, git-ignored scratch; "
                       "--out results to publish)")  # fmt: skip
    sweep.add_argument("--work", choices=WORK_KINDS, default="wait",
                       help="how handlers hold D: wait (the article) or cpu (compute for about D)")  # fmt: skip
    sweep.add_argument("--http", choices=HTTP_VERSIONS, default="1.1",
                       help="1.1 (default) or 2: h2c with prior knowledge, N streams of one connection")  # fmt: skip
    sweep.add_argument("--catalog", help="TOML file with more [[server]] and [[client]] entries")
    add_target_arguments(sweep)
    sweep.set_defaults(run=cmd_sweep)
