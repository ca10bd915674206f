"""The command line: ``python -m harness compare | sweep | serve | article | list | bench``.

The only place that turns errors into exit statuses and one-line messages:
0 all measured, 1 some pairings failed (or no Go, a failed build or calibration),
2 bad input (options, catalog file, a taken port), 130 Ctrl-C, 128 + n for signal n.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from harness.plots import Picture

from harness import calibration, export, gobuild, report
from harness.calibration import WORK_KINDS
from harness.catalog import CATALOG, Catalog, ClientSpec, ServerSpec
from harness.childenv import child_env
from harness.claims import Context, claims_for
from harness.errors import HarnessError, ServerError, UsageError
from harness.metadata import environment
from harness.paths import CACHE_DIR, GO_DIR, default_out
from harness.process import ManagedProcess, Terminated, describe_exit, install_signal_handlers
from harness.progress import ConsoleProgress
from harness.protocol import is_batch_line
from harness.results import RunResults
from harness.runner import CONNECTIONS, Plan, check_port_free, request_timeout_s, run_plan, running_server

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
SERVE_PORT = 8000
ARTICLE_PORT = 8000
"""The article's port: its client is hard-wired to http://localhost:8000/."""

console = Console(stderr=True, highlight=False, soft_wrap=True)


class Parser(argparse.ArgumentParser):
    """argparse, but bad input gives one line (and status 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `python -m harness {self.prog.split()[-1]} --help`)")


def _names(value: str | None, known: dict[str, object], default: list[str], what: str, flag: str) -> list[str]:
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


def _delay(value: float, flag: str = "--delay") -> float:
    if not MIN_DELAY_S <= value <= MAX_DELAY_S:
        raise UsageError(f"{flag} must be a number of seconds from {MIN_DELAY_S:g} to {MAX_DELAY_S:g}, got {value:g}")
    return value


def _writable(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write to --out {str(out)!r} ({exc.strerror}): choose another folder") from exc
    return out


def load_catalog(args: argparse.Namespace) -> Catalog:
    return CATALOG.with_file(Path(args.catalog)) if args.catalog else CATALOG


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
    servers = _names(args.servers, by_server, default, "server", "--servers")  # type: ignore[arg-type]
    clients = _names(args.client_impls, by_client, list(by_client), "client", "--client-impls")  # type: ignore[arg-type]
    return Plan(
        servers=tuple(by_server[s] for s in servers),
        clients=tuple(by_client[c] for c in clients),
        delay_s=_delay(args.delay),
        n_clients=args.clients,
        repeats=args.repeats,
        out_dir=_writable(Path(args.out)),
        work=args.work,
        connections=args.connections,
    )


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


def cmd_compare(args: argparse.Namespace) -> int:
    setup_start = time.perf_counter()
    catalog = load_catalog(args)
    plan = make_plan(args, catalog)
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
        "servers": [s.name for s in plan.servers],
        "client_impls": [c.name for c in plan.clients],
    }
    env = environment(
        go_version=go.version if go else None, log_path=plan.out_dir / "logs" / "git.log", command=args.command_line
    )
    results = RunResults(plan.out_dir, settings, env, catalog)
    results.add_phase("setup", setup_start)
    start = results.origin

    def checkpoint() -> None:
        settings["duration_s"] = time.perf_counter() - start
        with results.timed("report"):
            export.write(report.build(results), plan.out_dir)

    total = len(plan.servers) * len(plan.clients) * (plan.repeats + 1)
    context = Context.of(settings, env, catalog)
    console.print(
        f"{len(plan.servers)} servers x {len(plan.clients)} clients, D = {plan.delay_s:g} s, "
        f"N = {plan.n_clients}, R = {plan.repeats} (+1 warm-up), {plan.work} work on {env['cores']} usable cores, "
        f"{plan.connections} connections: "
        f"{total} batches"
    )
    try:
        with ConsoleProgress(total_batches=total, context=context, console=console) as progress:
            run_plan(plan, results, go=go, progress=progress, checkpoint=checkpoint)
        results.complete = True
    except BaseException as exc:
        results.interrupted = why_stopped(exc)
        raise
    finally:
        try:
            pictures: tuple[Picture, ...] = ()
            if not results.interrupted:
                with results.timed("report"):  # the timelines are part of the report
                    from harness import plots  # matplotlib: loaded only when there is something to draw

                    pictures = tuple(plots.timelines(report.build(results), plan.out_dir))
            settings["duration_s"] = time.perf_counter() - start
            results.add_phase("run", start)
            export.write(report.build(results, pictures), plan.out_dir)
        finally:
            results.close()
        console.print(f"report: {plan.out_dir / 'report.md'} ({time.perf_counter() - start:.0f} s)")
    failed = results.failed()
    if failed:
        console.print(f"[red]{len(failed)} of {len(results.pairings)} pairings failed[/]; see the report")
        return 1
    return 0


def why_stopped(exc: BaseException) -> str:
    """What ended a run early, for the partial report: Ctrl-C, a signal, or an error."""
    if isinstance(exc, KeyboardInterrupt):
        return "Ctrl-C"
    if isinstance(exc, Terminated):
        return signal_name(exc)
    return f"{type(exc).__name__}: {exc}"


def signal_name(exc: Terminated) -> str:
    try:
        return signal.Signals(int(exc.code or 143) - 128).name
    except ValueError:
        return "a signal"


def cmd_article(args: argparse.Namespace) -> int:
    """The article, literally: the Go server and the verbatim client on port 8000."""
    check_port_free(args.port)
    spec = CATALOG.servers_by_name["go-nethttp"]
    go = build_go([spec])
    assert go is not None
    logs = Path(tempfile.mkdtemp(prefix="harness-article-"))
    with running_server(spec, delay_s=_delay(args.delay), logs_dir=logs, go=go, port=args.port) as running:
        port = int(running.url.rsplit(":", 1)[1].strip("/"))
        if port == ARTICLE_PORT:
            argv = [str(go.binaries["article"])]
            print(f"go/server on {running.url} (D = {args.delay:g} s); the article's client, verbatim:", flush=True)
        else:
            url = f"http://localhost:{port}/"
            argv = [str(go.binaries["client"]), "-url", url, "-clients", "5"]
            print(f"go/server on {running.url} (D = {args.delay:g} s); the verbatim client only knows port "
                  f"{ARTICLE_PORT}, so go/client -url {url} stands in:", flush=True)  # fmt: skip
        client = ManagedProcess(
            argv,
            name="article-client",
            log_path=logs / "client.log",
            env=child_env(delay_s=args.delay),
            capture_stdout=True,
            merge_stderr=True,
        )
        with client:
            while (item := client.next_line(request_timeout_s(args.delay, 5))) is not None:
                if not is_batch_line(item[1]):
                    print(item[1], end="", flush=True)
            code = client.wait(10)
    print(flush=True)
    if code != 0:
        raise ServerError(f"the client exited ({describe_exit(code)}); server log: {running.proc.log_path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    servers = load_catalog(args).servers_by_name
    if args.name not in servers:
        raise UsageError(f"unknown server {args.name!r}; valid: {', '.join(servers)}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    spec = servers[args.name]
    check_port_free(args.port)
    go = build_go([spec])
    logs = Path(tempfile.mkdtemp(prefix="harness-serve-"))
    with running_server(spec, delay_s=_delay(args.delay), logs_dir=logs, go=go, port=args.port) as running:
        print(f"{spec.name} is serving at {running.url} (D = {args.delay:g} s); log: {running.proc.log_path}")
        print(f"try: curl '{running.url}?client=A'   stop: Ctrl-C", flush=True)
        try:
            while (code := running.proc.poll()) is None:
                time.sleep(0.2)
        except KeyboardInterrupt:
            print(f"\nstopping {spec.name}", flush=True)
            return 0
        raise ServerError(f"{spec.name} exited with status {code}; last lines of its log:\n{running.proc.log_tail()}")


def cmd_diff(args: argparse.Namespace) -> int:
    """Exit 1 when a verdict changed (for CI), 0 when every verdict is the same."""
    from harness import diff
    from harness.files import write_text

    result = diff.diff(Path(args.old), Path(args.new), force=args.force)
    text = diff.render(result)
    if args.out:
        try:
            write_text(Path(args.out), text)
        except OSError as exc:
            raise UsageError(f"cannot write --out {args.out!r} ({exc.strerror}): choose another path") from exc
        console.print(f"diff: {args.out}")
    else:
        sys.stdout.write(text)
    return 1 if result.verdicts_changed else 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Every published artefact from the current, committed code, then the README's tables."""
    from harness import publish
    from harness.metadata import provenance

    parts = {p.name: p for p in publish.PARTS}
    chosen = _names(args.parts, parts, list(publish.DEFAULT_PARTS), "part", "--parts")  # type: ignore[arg-type]
    if not args.readme_only:
        prov = provenance(args.command_line, Path(tempfile.mkdtemp(prefix="harness-publish-")) / "git.log")
        if prov["dirty"] is not False:
            raise UsageError(
                "the code (harness/, go/, python/, pyproject.toml, noxfile.py) has uncommitted changes or no git: "
                "commit first, a published report must name the commit that made it"
            )
        for name in chosen:
            part = parts[name]
            console.print(f"[bold]publish {name}[/]: {part.what} (python -m harness {' '.join(part.argv)})")
            code = main(list(part.argv))
            if code != 0:
                console.print(f"[red]publish stopped:[/] {name} exited with status {code}; the README is unchanged")
                return code
    text = publish.README.read_text(encoding="utf-8")
    fresh = publish.refresh(text)
    if fresh != text:
        publish.README.write_text(fresh, encoding="utf-8")
    console.print(f"README: {len(publish.MARKER.findall(fresh))} result blocks regenerated from results/")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """Sustained load against offered rate: see ``harness.load``."""
    from harness.load import command as load

    catalog = load_catalog(args)
    by_server = catalog.servers_by_name
    names = _names(args.servers, by_server, list(load.DEFAULT_SERVERS), "server", "--servers")  # type: ignore[arg-type]
    delay = _delay(args.delay)
    plan = load.make_plan(args, tuple(by_server[n] for n in names), delay)
    out = _writable(Path(args.out))
    go = build_go([])
    if go is None:
        go = gobuild.build(GO_DIR, CACHE_DIR / "go")
    env = environment(go_version=go.version, log_path=out / "logs" / "git.log", command=args.command_line)
    settings = load.settings_of(plan, args.command_line)
    steps = sum(len(plan.ladder_for(s)) for s in plan.servers)
    console.print(
        f"load: {len(plan.servers)} servers, {steps} steps of {plan.warmup_s:g} + {plan.duration_s:g} s, "
        f"D = {plan.delay_s:g} s, {plan.arrivals} arrivals; about {steps * (plan.warmup_s + plan.duration_s + 1):.0f} s"
    )
    code = load.measure(plan, go=go, out_dir=out, settings=settings, environment=env, say=console.print)
    console.print(f"report: {out / 'load.md'}")
    return code


def cmd_list(args: argparse.Namespace) -> int:
    catalog = load_catalog(args)
    print("servers (* = in a run that does not name its servers):")
    for s in catalog.servers:
        capacity = "no limit" if s.capacity is None else s.capacity
        mark = "*" if s.default else " "
        claim_ids = ",".join(claims_for(s))
        print(f"{mark} {s.name:<24} {claim_ids:<8} capacity {capacity!s:<9} {s.summary}")
    print("clients:")
    for c in catalog.clients:
        print(f"  {c.name:<24} {c.summary}")
    return 0


def _floats(value: str, flag: str) -> tuple[float, ...]:
    try:
        values = tuple(_delay(float(v), flag) for v in value.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"{flag} must be comma-separated seconds, e.g. 0.05,0.2,1, got {value!r}") from None
    if not values:
        raise UsageError(f"{flag} names no delay")
    return values


def cmd_bench(args: argparse.Namespace) -> int:
    """How fast and how exact the harness is (issue 7): see ``harness.bench``."""
    from harness import bench
    from harness.export import bench as bench_export

    parts = tuple(_names(args.parts, dict.fromkeys(bench.PARTS), list(bench.PARTS), "part", "--parts"))
    servers = _names(args.servers, CATALOG.servers_by_name, list(bench.PRECISION_SERVERS), "server", "--servers")  # type: ignore[arg-type]
    if args.repeats < 1 or args.scale_repeats < 1:
        raise UsageError("--repeats and --scale-repeats must be at least 1")
    if not 1 <= args.scale_clients <= MAX_CLIENTS:
        raise UsageError(f"--scale-clients must be between 1 and {MAX_CLIENTS}, got {args.scale_clients}")
    plan = bench.BenchPlan(
        out_dir=_writable(Path(args.out)),
        parts=parts,
        delays=_floats(args.delays, "--delays"),
        repeats=args.repeats,
        precision_servers=tuple(servers),
        scale_clients=args.scale_clients,
        scale_delay_s=_delay(args.scale_delay, "--scale-delay"),
        scale_repeats=args.scale_repeats,
        compare_args=tuple(shlex.split(args.compare_args)),
    )
    env = environment(go_version=None, log_path=plan.runs_dir / "git.log", command=args.command_line)
    result = bench.run_bench(
        plan, say=console.print, environment=env, checkpoint=lambda partial: bench_export.write(partial, plan.out_dir)
    )
    paths = bench_export.write(result, plan.out_dir)
    console.print(f"bench: {', '.join(map(str, paths))} ({result.bench_s / 60:.1f} min)")
    for target in result.targets():
        mark = {True: "met", False: "[red]missed[/]", None: "not measured"}[target.met]
        console.print(f"  {target.what}: {target.measured} ({target.limit}): {mark}")
    return 0


def parser() -> Parser:
    top = Parser(prog="harness", description="Go vs Python concurrent HTTP comparison harness")
    sub = top.add_subparsers(dest="command", required=True, parser_class=Parser)

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
    compare.set_defaults(run=cmd_compare)

    serve = sub.add_parser("serve", help="run one catalog server in the foreground")
    serve.add_argument("name", help="server name (see `list`)")
    serve.add_argument("--port", type=int, default=SERVE_PORT, help="port on 127.0.0.1 (0: any free one)")
    serve.add_argument("--delay", type=float, default=DEFAULT_DELAY_S, help="D, seconds each request is held")
    serve.add_argument("--catalog", help="TOML file with more [[server]] entries")
    serve.set_defaults(run=cmd_serve)

    article = sub.add_parser("article", help="the article literally: Go server on :8000, its verbatim client")
    article.add_argument("--port", type=int, default=ARTICLE_PORT, help="port on 127.0.0.1 (default 8000)")
    article.add_argument("--delay", type=float, default=1.0, help="D, seconds the server holds each request")
    article.set_defaults(run=cmd_article)

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

    diffing = sub.add_parser("diff", help="put two report.json files side by side: did a rerun reproduce a run?")
    diffing.add_argument("old", help="the report.json to compare against (e.g. a published one)")
    diffing.add_argument("new", help="the report.json of the rerun")
    diffing.add_argument("--out", help="write the markdown here instead of to stdout")
    diffing.add_argument("--force", action="store_true", help="compare reports with a different D or N anyway")
    diffing.set_defaults(run=cmd_diff)

    publishing = sub.add_parser("publish", help="regenerate every published result from the committed code")
    publishing.add_argument("--parts", help="comma-separated: compare, all, cpu, sweep, bench (default: all but bench)")
    publishing.add_argument("--readme-only", action="store_true",
                            help="only rewrite the README's result blocks from the files in results/")  # fmt: skip
    publishing.set_defaults(run=cmd_publish)

    from harness.load.command import add_arguments as load_arguments

    loading = sub.add_parser("load", help="sustained load: throughput and tail latency against offered rate")
    load_arguments(loading)
    loading.add_argument("--out", default=str(default_out("load")), help="folder for load.md (default: runs/load/)")
    loading.add_argument("--catalog", help="TOML file with more [[server]] entries")
    loading.set_defaults(run=cmd_load)

    listing = sub.add_parser("list", help="print the catalog of servers and clients")
    listing.add_argument("--catalog", help="TOML file with more entries")
    listing.set_defaults(run=cmd_list)

    from harness import sweep_cli  # builds on this module, so it is imported once this one is loaded

    sweep_cli.add_parser(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    install_signal_handlers()
    try:
        args = parser().parse_args(argv)
        args.argv = argv[1:]
        args.command_line = "python -m harness " + shlex.join(argv)
        return int(args.run(args))
    except UsageError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)  # [[server]] is not markup
        return 2
    except HarnessError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)  # [[server]] is not markup
        return 1
    except KeyboardInterrupt:
        console.print("interrupted (Ctrl-C); every process the harness started was stopped")
        return 130
    except Terminated as exc:
        console.print(f"terminated ({signal_name(exc)}); every process the harness started was stopped")
        return int(exc.code or 143)
