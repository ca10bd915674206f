"""``python -m harness load``: sustained load against a ladder of offered rates per server."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from pathlib import Path
from typing import Any

from harness import export
from harness.cli.options import (
    add_target_arguments,
    build_go,
    console,
    cpu_list,
    cpu_text,
    delay_arg,
    load_catalog,
    make_target,
    names,
    servers_speaking,
    settle_target,
    target_delay,
    writable,
)
from harness.core import gobuild
from harness.core.environment import environment
from harness.core.errors import UsageError
from harness.core.paths import CACHE_DIR, GO_DIR, default_out
from harness.core.serving import HTTP_VERSIONS
from harness.core.target import Target, target_line
from harness.load.runner import CLIMB_MAX_RPS, START_RPS, LoadPlan, measure

DEFAULT_LOAD_DELAY_S = 0.05
DEFAULT_DURATION_S = 5.0
DEFAULT_WARMUP_S = 1.0
MAX_DURATION_S = 120.0
MAX_RATE_RPS = CLIMB_MAX_RPS
"""The most a climb offers; the client's own limit on this machine is measured in each run."""


def rates(value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        found = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise UsageError(
            f"--rates must be comma-separated requests per second, e.g. 50,100,200, got {value!r}"
        ) from None
    bad = [r for r in found if not 0 < r <= MAX_RATE_RPS or math.isnan(r)]
    if not found or bad:
        raise UsageError(f"--rates must be between 0 and {MAX_RATE_RPS:g} requests per second, got {value!r}")
    return tuple(sorted(set(found)))


def seconds_between(value: float, flag: str, low: float, high: float) -> float:
    if not low <= value <= high or math.isnan(value):
        raise UsageError(f"{flag} must be between {low:g} and {high:g} seconds, got {value:g}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--servers", help="comma-separated server names, or all (default: "
                        f"{', '.join(DEFAULT_SERVERS)})")  # fmt: skip
    parser.add_argument("--rates", help="offered rates for every server, requests/s (default: a ladder around "
                        f"each server's k / D; unbounded ones climb from {START_RPS:g}/s, doubling then "
                        "bisecting, until the server or the client gives out)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="counted seconds per step")
    parser.add_argument("--warmup", type=float, default=DEFAULT_WARMUP_S, help="seconds per step, not counted")
    parser.add_argument("--delay", type=delay_arg, default=DEFAULT_LOAD_DELAY_S,
                        help="D, seconds each request is held; auto: a --target's, measured")  # fmt: skip
    parser.add_argument("--arrivals", choices=("constant", "poisson"), default="constant",
                        help="a request every 1/λ s, or Poisson arrivals (with --seed)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="the Poisson schedule's seed (stated in the report)")
    parser.add_argument("--server-cpus", metavar="LIST", help="CPUs the servers may run on (default on 2+ "
                        "CPUs: all but the last; the load client gets the last)")  # fmt: skip
    parser.add_argument("--client-cpus", metavar="LIST", help="CPUs the load client may run on")
    parser.add_argument("--no-pin", action="store_true", help="let the server and the load client share every CPU")
    parser.add_argument("--http", choices=HTTP_VERSIONS, default="1.1",
                        help="1.1 (default) or 2: the load client speaks h2c with prior knowledge, requests as "
                        "streams of one or a few connections; servers that serve no h2c are left out")  # fmt: skip


DEFAULT_SERVERS = ("go-nethttp", "fastapi-async", "uvicorn-uvloop", "gunicorn-threads5", "gunicorn-default")
"""go-nethttp first: its climb measures the load client's own on-time limit for the servers after it."""


def placement(args: argparse.Namespace, target: Target | None) -> tuple[frozenset[int] | None, frozenset[int] | None]:
    """Server and client CPUs: as given, else separate cores on a machine with 2+ (the last for the client)."""
    server, client = cpu_list(args.server_cpus, "--server-cpus"), cpu_list(args.client_cpus, "--client-cpus")
    if args.no_pin or server or client or target is not None:
        return server, client
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(usable) < 2:
        return None, None
    return frozenset(usable[:-1]), frozenset(usable[-1:])


def warmup_covers(warmup_s: float, delay_s: float) -> float:
    """The warm-up must hold at least one D: else the first counted answers fall outside the window."""
    if warmup_s < delay_s:
        raise UsageError(f"--warmup ({warmup_s:g} s) must be at least D ({delay_s:g} s): the counted window "
                         "starts after the warm-up, and answers take D")  # fmt: skip
    return warmup_s


def make_plan(args: argparse.Namespace, servers: tuple[Any, ...], delay_s: float, target: Target | None = None,
              target_capacity: int | None = None) -> LoadPlan:  # fmt: skip
    server_cpus, client_cpus = placement(args, target)
    return LoadPlan(
        servers=servers,
        delay_s=delay_s,
        duration_s=seconds_between(args.duration, "--duration", 0.5, MAX_DURATION_S),
        warmup_s=warmup_covers(seconds_between(args.warmup, "--warmup", 0.0, MAX_DURATION_S), delay_s),
        server_cpus=server_cpus,
        client_cpus=client_cpus,
        rates=rates(args.rates),
        arrivals=args.arrivals,
        seed=args.seed,
        target=target,
        target_capacity=target_capacity,
        http=getattr(args, "http", "1.1"),
    )


def settings_of(plan: LoadPlan, command: str) -> dict[str, Any]:
    settings = {
        "command": command,
        "delay_s": plan.delay_s,
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "arrivals": plan.arrivals,
        "seed": plan.seed,
        "http": plan.http,
        "ladders": {name: list(ladder) for name, ladder in plan.ladders.items()},
        "request_timeout_s": plan.request_timeout_s,
        "server_cpus": cpu_text(plan.server_cpus) if plan.server_cpus else None,
        "client_cpus": cpu_text(plan.client_cpus) if plan.client_cpus else None,
        "server_cores": len(plan.server_cpus) if plan.server_cpus else None,
    }
    if plan.target is not None:
        settings["target"] = plan.target.settings()
    return settings


def serving_http(http: str, servers: list[Any]) -> list[str]:
    """The chosen servers that serve ``--http`` (each left out said in one line); none left is a usage error."""
    kept = servers_speaking(http, servers)
    if servers and not kept:
        raise UsageError(f"--http {http}: no server left that speaks it")
    return kept


def cmd_load(args: argparse.Namespace) -> int:
    """Sustained load against offered rate: see ``harness.load``."""
    catalog = load_catalog(args)
    by_server = catalog.servers_by_name
    target = make_target(args, catalog)
    if target is not None and target.server_pid is not None:
        raise UsageError("--server-pid samples a --target for compare and sweep; load reads only the target's evidence")
    chosen = [] if target else names(args.servers, by_server, list(DEFAULT_SERVERS), "server", "--servers")
    chosen = serving_http(getattr(args, "http", "1.1"), [by_server[n] for n in chosen])
    k = target.capacity if target else None
    plan = make_plan(args, tuple(by_server[n] for n in chosen), target_delay(args) or 0.0, target, k)
    out = writable(Path(args.out))
    if plan.target is not None:  # before any step: reachable, the answer it should give, D
        settled, delay_s = settle_target(plan.target, args)
        warmup_covers(plan.warmup_s, delay_s)
        plan = dataclasses.replace(plan, target=settled, delay_s=delay_s)
    go = build_go([])
    if go is None:
        go = gobuild.build(GO_DIR, CACHE_DIR / "go")
    env = environment(go_version=go.version, log_path=out / "logs" / "git.log", command=args.command_line)
    settings = settings_of(plan, args.command_line)
    steps = sum(len(ladder) or 8 for ladder in plan.ladders.values())  # a climb: about 8 steps
    if plan.target is not None:
        console.print(target_line(plan.target.settings()))
    console.print(
        f"load: {len(plan.ladders)} servers, {steps} steps of {plan.warmup_s:g} + {plan.duration_s:g} s, "
        f"D = {plan.delay_s:g} s, {plan.arrivals} arrivals, HTTP/{plan.http}, "
        f"CPUs {settings['server_cpus'] or 'any'} for the servers, {settings['client_cpus'] or 'any'} for the client; "
        f"about {steps * (plan.warmup_s + plan.duration_s + 1):.0f} s"
    )
    code = measure(plan, go=go, out_dir=out, settings=settings, environment=env, say=console.print,
                   export=lambda report: export.write("load", report, out))  # fmt: skip
    console.print(f"report: {out / 'load.md'}")
    return code


def add_parser(sub: Any) -> None:
    """Register ``load`` on the CLI's subcommands."""
    loading = sub.add_parser("load", help="sustained load: throughput and tail latency against offered rate")
    add_arguments(loading)
    loading.add_argument("--out", default=str(default_out("load")), help="folder for load.md (default: runs/load/)")
    loading.add_argument("--catalog", help="TOML file with more [[server]] entries")
    add_target_arguments(loading)
    loading.set_defaults(run=cmd_load)
