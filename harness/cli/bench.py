"""``python -m harness bench``: how fast and how exact the harness is."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from harness import export
from harness.cli.options import (
    MAX_CLIENTS,
    console,
    delay,
    names,
    writable,
)
from harness.core.catalog import CATALOG
from harness.core.environment import environment
from harness.core.errors import UsageError
from harness.core.paths import default_out


def _floats(value: str, flag: str) -> tuple[float, ...]:
    try:
        values = tuple(delay(float(v), flag) for v in value.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"{flag} must be comma-separated seconds, e.g. 0.05,0.2,1, got {value!r}") from None
    if not values:
        raise UsageError(f"{flag} names no delay")
    return values


def cmd_bench(args: argparse.Namespace) -> int:
    """How fast and how exact the harness is (issue 7): see ``harness.bench``."""
    from harness.bench import runner as bench

    parts = tuple(names(args.parts, dict.fromkeys(bench.PARTS), list(bench.PARTS), "part", "--parts"))
    servers = names(args.servers, CATALOG.servers_by_name, list(bench.PRECISION_SERVERS), "server", "--servers")
    if args.repeats < 1 or args.scale_repeats < 1:
        raise UsageError("--repeats and --scale-repeats must be at least 1")
    if not 1 <= args.scale_clients <= MAX_CLIENTS:
        raise UsageError(f"--scale-clients must be between 1 and {MAX_CLIENTS}, got {args.scale_clients}")
    plan = bench.BenchPlan(
        out_dir=writable(Path(args.out)),
        parts=parts,
        delays=_floats(args.delays, "--delays"),
        repeats=args.repeats,
        precision_servers=tuple(servers),
        scale_clients=args.scale_clients,
        scale_delay_s=delay(args.scale_delay, "--scale-delay"),
        scale_repeats=args.scale_repeats,
        compare_args=tuple(shlex.split(args.compare_args)),
    )
    env = environment(go_version=None, log_path=plan.runs_dir / "git.log", command=args.command_line)
    result = bench.run_bench(
        plan,
        say=console.print,
        environment=env,
        checkpoint=lambda partial: export.write("bench", partial, plan.out_dir),
    )
    paths = export.write("bench", result, plan.out_dir)
    console.print(f"bench: {', '.join(map(str, paths))} ({result.bench_s / 60:.1f} min)")
    for target in result.targets():
        mark = {True: "met", False: "[red]missed[/]", None: "not measured"}[target.met]
        console.print(f"  {target.what}: {target.measured} ({target.limit}): {mark}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``bench`` on the CLI's subcommands."""
    bench = sub.add_parser("bench", help="how fast and how exact the harness is: bench.md and bench.json")
    bench.add_argument("--out", default=str(default_out("bench")),
                       help="folder for bench.md and bench.json (default: runs/bench/, git-ignored; "
                       "--out results to publish)")  # fmt: skip
    bench.add_argument("--parts", help="comma-separated: precision, scale, whole, efficiency (default: all)")
    bench.add_argument("--delays", default="0.05,0.2,1", help="D values of the precision part, seconds")
    bench.add_argument("--repeats", type=int, default=5, help="counted batches per pairing in the precision part")
    bench.add_argument("--servers", help="concurrent servers of the precision part (default: three kinds)")
    bench.add_argument("--scale-clients", type=int, default=1000, help="N of the scale part")
    bench.add_argument("--scale-delay", type=float, default=1.0, help="D of the scale part, seconds")
    bench.add_argument("--scale-repeats", type=int, default=3, help="counted batches of the scale part")
    bench.add_argument("--compare-args", default="", help="extra arguments for the matrix runs (default: none)")
    bench.set_defaults(run=cmd_bench)
