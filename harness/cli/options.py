"""What every subcommand shares: defaults, limits and validators of its options, the console,
the catalog, the Go build, the CPU calibration, and ``--target`` (compare, sweep, load)."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import psutil
from rich.console import Console

from harness.core import calibration, gobuild
from harness.core.catalog import CATALOG, Catalog, ClientSpec, ServerSpec
from harness.core.errors import UsageError
from harness.core.paths import CACHE_DIR, GO_DIR
from harness.core.request import request_spec
from harness.core.serving import is_loopback
from harness.core.target import Target, probed, run_delay, target_url

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
"""``--quick``: the default matrix at D = 0.2 s with one counted batch (the README
states how long it took beside the full run, from the published reports). D = 0.2 s keeps runserver's ~40 ms per reused
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


AUTO = "auto"
"""``--delay auto``: measure a --target's D (``core.target``)."""


def delay_arg(text: str) -> float | str:
    """``--delay``: seconds, or ``auto`` (a --target's D, measured); checked later, in one line."""
    if text.strip().lower() == AUTO:
        return AUTO
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--delay must be a number of seconds or auto (a --target only), got {text!r}") from None


def add_target_arguments(parser: Any) -> None:
    """``--target URL`` and what describes it: ``--as`` or the request (``--method``, ``--header``,
    ``--body``, ``--body-file``, ``--expect-status``), ``--capacity``, ``--target-clock``,
    ``--server-pid`` and ``--force``: a server the harness did not start."""
    parser.add_argument("--target", metavar="URL",
                        help="measure a server the harness did not start (your own app, another machine, "
                        "`harness serve --host`): any http:// URL, path and query; no server is started, it is "
                        "probed first")  # fmt: skip
    parser.add_argument(
        "--as",
        dest="as_server",
        metavar="SERVER",
        help="the catalog server the --target runs: the article's request, its claims and capacity (else none)",
    )
    parser.add_argument("--method", help="a --target endpoint's HTTP method (default GET)")
    parser.add_argument("--header", action="append", metavar="'NAME: VALUE'",
                        help="a header every request to the --target carries (repeat it); "
                        "reports hide the values")  # fmt: skip
    parser.add_argument("--body", help="the body every request to the --target sends")
    parser.add_argument("--body-file", metavar="PATH", help="the body, from a file")
    parser.add_argument("--expect-status", metavar="LIST",
                        help="statuses that count as an answer from the --target, e.g. 200,201 or 2xx "
                        "(default 2xx)")  # fmt: skip
    parser.add_argument("--capacity", type=int, metavar="K",
                        help="how many requests your --target serves at once (e.g. gunicorn --threads 4: 4); "
                        "the generic claim G1 judges it, the sweep and load model it")  # fmt: skip
    parser.add_argument("--server-pid", type=int, metavar="PID",
                        help="sample this process and its children while the batches run (processes, threads, CPU): "
                        "evidence from a --target on this host without touching its code")  # fmt: skip
    parser.add_argument("--force", action="store_true",
                        help="run against a --target even when its probe does not match --delay")  # fmt: skip
    parser.add_argument("--target-clock", choices=TARGET_CLOCKS,
                        help="same: the --target shares this host's monotonic clock (loopback, a network namespace),"
                        " so client and handler stamps are checked against each other; other (default unless "
                        "the target is on loopback): another machine, not checked")  # fmt: skip


REQUEST_FLAGS = ("method", "header", "body", "body_file", "expect_status")
TARGET_ONLY = (*REQUEST_FLAGS, "capacity", "server_pid", "force", "as_server", "target_clock")


def _flag(dest: str) -> str:
    return "--as" if dest == "as_server" else "--" + dest.replace("_", "-")


def make_target(args: argparse.Namespace, catalog: Catalog) -> Target | None:
    """The ``--target`` of this run (not probed yet), or ``None``; each check is one line: what
    the harness did not start it cannot set up (servers, their CPUs, their kind of work)."""
    if not args.target:
        extra = [_flag(d) for d in TARGET_ONLY if getattr(args, d, None) not in (None, False)]
        if extra or getattr(args, "delay", None) == AUTO:
            flags = ", ".join(extra) or "--delay auto"
            raise UsageError(f"{flags} describe(s) a --target; give one or leave them out")
        return None
    for flag, given in (("--servers", args.servers), ("--server-cpus", getattr(args, "server_cpus", None))):
        if given is not None:
            raise UsageError(f"{flag} is for servers the harness starts; with --target the server is already running")
    if getattr(args, "work", "wait") != "wait":
        raise UsageError("--work cpu needs servers the harness starts (it sets their work); a --target only waits")
    declared = catalog.targets_by_name.get(args.as_server or "")  # the user's own, from a [[target]] table
    if args.as_server is not None and args.as_server not in catalog.servers_by_name and declared is None:
        valid = ", ".join([*catalog.servers_by_name, *catalog.targets_by_name])
        raise UsageError(f"unknown server {args.as_server!r} in --as; valid: {valid}")
    request = None
    if args.as_server is not None and declared is None:
        if given := [_flag(d) for d in (*REQUEST_FLAGS, "capacity") if getattr(args, d, None) is not None]:
            raise UsageError(f"--as sends the article's request with that server's capacity; {', '.join(given)} "
                             "describe(s) your own endpoint: leave out --as")  # fmt: skip
    else:
        request = request_spec(method=args.method, headers=args.header, body=args.body, body_file=args.body_file,
                               expect=args.expect_status, scratch=Path(args.out) / "logs")  # fmt: skip
    if args.capacity is not None and args.capacity < 1:
        raise UsageError(f"--capacity must be a whole number of requests at least 1, got {args.capacity}")
    if args.server_pid is not None:
        check_server_pid(args.server_pid)
    url, host_port = target_url(args.target, article=request is None)
    host = host_port.rsplit(":", 1)[0].strip("[]")
    try:
        local = is_loopback(host)
    except ValueError:
        local = host == "localhost"
    clock = args.target_clock or ("same" if local else "other")
    if declared is not None and args.capacity is not None:
        raise UsageError(f"--as {declared.name} declares a capacity of {declared.capacity} in its [[target]]; "
                         "leave out --capacity or change the file")  # fmt: skip
    if request is None:  # --as a catalog server: its capacity
        capacity = catalog.servers_by_name[args.as_server].capacity
    else:
        capacity = declared.capacity if declared is not None else args.capacity
    return Target(
        url=url,
        name=args.as_server or host_port,
        declared=args.as_server is not None or capacity is not None,
        shared_clock=clock == "same",
        request=request,
        capacity=capacity,
        server_pid=args.server_pid,
    )


def check_server_pid(pid: int) -> None:
    """``--server-pid``: a process of this host other than the harness, or a one-line ``UsageError``."""
    if pid <= 1 or pid == os.getpid() or not psutil.pid_exists(pid):
        raise UsageError(f"--server-pid {pid} is not a running process of this host: give the server's pid "
                         "(its master process for gunicorn or uvicorn --workers), e.g. from "
                         "`pgrep -f gunicorn`")  # fmt: skip


def target_delay(args: argparse.Namespace) -> float | None:
    """The --delay of a run: seconds, checked; ``None`` for ``auto`` (a --target's D, measured)."""
    return None if args.delay == AUTO else delay(args.delay)


def settle_target(target: Target, args: argparse.Namespace) -> tuple[Target, float]:
    """The target probed (reachable, the answer it should give, D) and the run's D."""
    found = probed(target, target_delay(args), force=args.force)
    return found, run_delay(found, target_delay(args))


def target_catalog(catalog: Catalog, target: Target | None) -> Catalog:
    """The catalog a run's reports judge by: with a ``--capacity`` target as an entry of its own."""
    if target is None or target.capacity is None or target.name in catalog.servers_by_name:
        return catalog
    if declared := catalog.targets_by_name.get(target.name):
        return catalog.with_target(declared.name, declared.capacity, declared.capacity_reason or "its [[target]]")
    return catalog.with_target(target.name, target.capacity)


def servers_speaking(http: str, servers: list[ServerSpec]) -> list[str]:
    """The servers whose command line speaks ``--http``; each one left out is said in one line."""
    kept = []
    for server in servers:
        if server.serves(http):
            kept.append(server.name)
        elif http == "2":
            console.print(f"--http 2: {server.name} left out: its command line serves no h2c (an -h2 twin may)")
        else:
            console.print(f"--http 1.1: {server.name} left out: its command line serves HTTP/2 only")
    return kept


def speaking(http: str, servers: list[ServerSpec], clients: list[ClientSpec]) -> tuple[list[str], list[str]]:
    """The servers and clients that speak ``--http``; each one left out is said in one line."""
    kept_servers, kept_clients = servers_speaking(http, servers), []
    for client in clients:
        if http == "2" and (reason := client.http2_reason()):
            console.print(f"--http 2: {client.name} left out: {reason}")
        else:
            kept_clients.append(client.name)
    if not kept_clients or (servers and not kept_servers):
        raise UsageError(f"--http {http}: no {'client' if not kept_clients else 'server'} left that speaks it")
    return kept_servers, kept_clients
