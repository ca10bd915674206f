"""``python -m harness load``: sustained load against a ladder of offered rates per server."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.load import report as load_report
from harness.load.runner import CLIENT_LIMIT_RPS, LoadPlan, run_load
from harness.load.steps import Step, step_row

DEFAULT_LOAD_DELAY_S = 0.05
DEFAULT_DURATION_S = 5.0
DEFAULT_WARMUP_S = 1.0
MAX_DURATION_S = 120.0
MAX_RATE_RPS = 5000.0
"""Above this the Go load client lags on a 2-core machine (it sent on time up to ~1500-2000/s)."""


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
    parser.add_argument("--servers", help="comma-separated server names, or all (default: go-nethttp, "
                        "gunicorn-default, gunicorn-threads5)")  # fmt: skip
    parser.add_argument("--rates", help="offered rates for every server, requests/s (default: a ladder around "
                        f"each server's k / D; unbounded ones up to {CLIENT_LIMIT_RPS:g}/s)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="counted seconds per step")
    parser.add_argument("--warmup", type=float, default=DEFAULT_WARMUP_S, help="seconds per step, not counted")
    parser.add_argument("--delay", type=float, default=DEFAULT_LOAD_DELAY_S, help="D, seconds each request is held")
    parser.add_argument("--arrivals", choices=("constant", "poisson"), default="constant",
                        help="a request every 1/λ s, or Poisson arrivals (with --seed)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="the Poisson schedule's seed (stated in the report)")


DEFAULT_SERVERS = ("go-nethttp", "gunicorn-default", "gunicorn-threads5")


def make_plan(args: argparse.Namespace, servers: tuple[Any, ...], delay_s: float) -> LoadPlan:
    return LoadPlan(
        servers=servers,
        delay_s=delay_s,
        duration_s=seconds_between(args.duration, "--duration", 0.5, MAX_DURATION_S),
        warmup_s=seconds_between(args.warmup, "--warmup", 0.0, MAX_DURATION_S),
        rates=rates(args.rates),
        arrivals=args.arrivals,
        seed=args.seed,
    )


def settings_of(plan: LoadPlan, command: str) -> dict[str, Any]:
    return {
        "command": command,
        "delay_s": plan.delay_s,
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "arrivals": plan.arrivals,
        "seed": plan.seed,
        "ladders": {s.name: list(plan.ladder_for(s)) for s in plan.servers},
        "client_limit_rps": plan.client_limit_rps,
        "request_timeout_s": plan.request_timeout_s,
    }


def measure(plan: LoadPlan, *, go: Any, out_dir: Path, settings: dict[str, Any], environment: dict[str, Any],
            say: Any) -> int:  # fmt: skip
    """Run every step, rewriting the report after each, and draw the pictures at the end."""
    steps: list[Step] = []
    capacities = {s.name: s.capacity for s in plan.servers}
    start = time.perf_counter()
    complete = False

    def write(pictures: tuple[Any, ...] = ()) -> load_report.LoadReport:
        settings["duration_run_s"] = time.perf_counter() - start
        built = load_report.build(steps, settings=settings, environment=environment, capacities=capacities,
                                  complete=complete, pictures=pictures)  # fmt: skip
        load_report.write(built, steps, out_dir)
        return built

    def on_step(step: Step) -> None:
        steps.append(step)
        row = step_row(step, delay_s=plan.delay_s)
        if step.status != "ok":
            why = step.reason.splitlines()[0] if step.reason else ""
            say(f"  {step.offered_rps:>8g}/s  [red]{step.status}[/]: {why}")
        else:
            p50, p99 = row["p50_s"] or 0.0, row["p99_s"] or 0.0
            lagged = "  [yellow]client lagged[/]" if row["client_lagged"] else ""
            say(
                f"  {step.offered_rps:>8g}/s  achieved {row['achieved_rps'] or 0:7.1f}/s  p50 {p50 * 1e3:6.0f} ms  "
                f"p99 {p99 * 1e3:7.0f} ms  in flight {row['max_in_flight']}  failed {row['failed']}  "
                f"late {row['late_sends']}{lagged}"
            )
        write()

    try:
        run_load(plan, go=go, logs_dir=str(out_dir / "logs"), on_step=on_step,
                 on_server=lambda server, event: say(f"[bold]{server}[/]: {event}"))  # fmt: skip
        complete = True
    finally:
        built = write()
        if complete and len(built.steps):
            from harness.load.pictures import load_pictures

            pictures = load_pictures(built.steps, capacities, plan.delay_s, out_dir=out_dir / "pictures",
                                     report_dir=out_dir)  # fmt: skip
            built = write(tuple(pictures))
        for c in built.capacity:
            say(f"{c.server}: {c.verdict} ({c.reason})")
    failed = [s for s in steps if s.status == "failed"]
    return 1 if failed else 0
