"""What every subcommand shares: defaults, limits and validators of its options, the console,
the catalog, the Go build, the CPU calibration, and ``--target`` (compare, sweep, load)."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from harness.core import calibration, gobuild
from harness.core.catalog import CATALOG, Catalog, ClientSpec, ServerSpec
from harness.core.errors import UsageError
from harness.core.paths import CACHE_DIR, GO_DIR
from harness.core.serving import is_loopback
from harness.core.target import Target, target_url

DEFAULT_DELAY_S = 0.5

DEFAULT_CLIENTS = 5

DEFAULT_REPEATS = 3

MAX_CLIENTS = 1000

MAX_DELAY_S = 25.0
"""gunicorn kills a sync worker busy for 30 s (its --timeout); D must stay below."""

MIN_DELAY_S = 0.001
"""Below a millisecond no client gets five requests into handlers before the first
one ends (httpx-async needs ~9 ms here); runs between this and the client's own
floor are marked *D too small* in the report (``claims.DISPATCH_FLOOR``)."""

QUICK_DELAY_S = 0.2

QUICK_REPEATS = 1
"""``--quick``: the default matrix at D = 0.2 s with one counted batch, about a
quarter of the default run's time. D = 0.2 s keeps runserver's ~40 ms per reused
connection (Nagle and a delayed ACK) at 1.2x, well inside the concurrent band."""

TARGET_CLOCKS = ("same", "other")

console = Console(stderr=True, highlight=False, soft_wrap=True)


class Parser(argparse.ArgumentParser):
    """argparse, but bad input gives one line (and status 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `python -m harness {self.prog.split()[-1]} --help`)")


def names(value: str | None, known: Mapping[str, object], default: list[str], what: str, flag: str) -> list[str]:
    if value is None:
        return default
    if value.strip() == "all":
        return list(known)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UsageError(
            f"unknown {what} {', '.join(map(repr, unknown)) or '(none given)'} in {flag}; "
            f"valid: {', '.join(known)} (or all)"
        )
    return list(dict.fromkeys(names))


def delay(value: float, flag: str = "--delay") -> float:
    if not MIN_DELAY_S <= value <= MAX_DELAY_S:
        raise UsageError(f"{flag} must be a number of seconds from {MIN_DELAY_S:g} to {MAX_DELAY_S:g}, got {value:g}")
    return value


def writable(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write to --out {str(out)!r} ({exc.strerror}): choose another folder") from exc
    return out


def load_catalog(args: argparse.Namespace) -> Catalog:
    return CATALOG.with_file(Path(args.catalog)) if args.catalog else CATALOG


def build_go(specs: list[ServerSpec | ClientSpec]) -> gobuild.GoBuild | None:
    if not any(s.needs_go for s in specs):
        return None
    with console.status("building the Go code"):
        go = gobuild.build(GO_DIR, CACHE_DIR / "go")
    console.print(f"Go {go.version}: {'cached build' if go.cached else 'built'} ({go.binaries['server'].parent})")
    return go


def calibrate_cpu(delay_s: float, *, go: gobuild.GoBuild | None, log_dir: Path) -> calibration.Calibration:
    """Calibrate the CPU work with the machine otherwise idle, and say what it found."""
    with console.status("calibrating the CPU work"):
        cal = calibration.calibrate(delay_s, go=go, log_dir=log_dir)
    go_text = f", Go {cal.go_iterations:,} rounds = {cal.go_call_s:.3f} s" if cal.go_iterations else ""
    console.print(f"CPU work: Python {cal.python_iterations:,} rounds = {cal.python_call_s:.3f} s{go_text}")
    return cal


def cpu_list(value: str | None, flag: str) -> frozenset[int] | None:
    """A CPU list (``0``, ``1``, ``0-1``, ``0,2``, as ``taskset -c`` takes) of CPUs this
    process may use, or a one-line ``UsageError``; ``None`` when not given."""
    if value is None:
        return None
    cpus: set[int] = set()
    try:
        for part in value.split(","):
            low, _, high = part.strip().partition("-")
            first, last = int(low), int(high or low)
            if first < 0 or last < first:
                raise ValueError(part)
            cpus.update(range(first, last + 1))
    except ValueError:
        raise UsageError(f"{flag} must be a CPU list such as 0, 1, 0-1 or 0,2; got {value!r}") from None
    allowed = os.sched_getaffinity(0)
    if missing := sorted(cpus - allowed):
        raise UsageError(
            f"{flag}: CPU(s) {','.join(map(str, missing))} not usable here; this process may use {cpu_text(allowed)}"
        )
    return frozenset(cpus)


def cpu_text(cpus: Iterable[int]) -> str:
    """CPUs as a compact list: ``0-3,6``."""
    ordered = sorted(cpus)
    runs: list[str] = []
    start = prev = ordered[0] if ordered else 0
    for cpu in [*ordered[1:], None]:
        if cpu is not None and cpu == prev + 1:
            prev = cpu
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if cpu is not None:
            start = prev = cpu
    return ",".join(runs) if ordered else ""


def add_target_arguments(parser: Any) -> None:
    """``--target URL``, ``--as SERVER`` and ``--target-clock``: a server the harness did not start."""
    parser.add_argument("--target", metavar="URL",
                        help="measure a server the harness did not start (another machine, `harness serve --host`); "
                        "no server is started, it is probed once first")  # fmt: skip
    parser.add_argument(
        "--as",
        dest="as_server",
        metavar="SERVER",
        help="the catalog server the --target runs: its claims and capacity apply (else none)",
    )
    parser.add_argument("--target-clock", choices=TARGET_CLOCKS,
                        help="same: the --target shares this host's monotonic clock (loopback, a network namespace),"
                        " so client and handler stamps are checked against each other; other (default unless "
                        "the target is on loopback): another machine, not checked")  # fmt: skip


def make_target(args: argparse.Namespace, catalog: Catalog) -> Target | None:
    """The ``--target`` of this run (not probed yet), or ``None``; each check is one line: what
    the harness did not start it cannot set up (servers, their CPUs, their kind of work)."""
    if not args.target:
        if args.as_server or args.target_clock:
            raise UsageError("--as and --target-clock describe a --target; give one or leave them out")
        return None
    for flag, given in (("--servers", args.servers), ("--server-cpus", getattr(args, "server_cpus", None))):
        if given is not None:
            raise UsageError(f"{flag} is for servers the harness starts; with --target the server is already running")
    if getattr(args, "work", "wait") != "wait":
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
