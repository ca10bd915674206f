"""Run the open-model load: a ladder of offered rates per server, one load client per step.

For each server: start it, then for each offered rate λ of its ladder run the Go
load client (``go/loadclient``) for a short warm-up and T counted seconds on a
schedule fixed in advance, sent by a pool of sender goroutines, connections reused
and not capped; a fixed ladder around k / D, or a climb (doubling, then bisecting) for a
server without one in reach. Every step is bounded (warm-up + T + the request timeout + slack);
a client that overruns is stopped and the step marked. Steps are kept as they
finish (``LoadResults``: each appended to ``load-steps.jsonl`` at once), so Ctrl-C
keeps what was measured; the report is rewritten after each server and at the end.

With ``--target`` (``core.target.Target``) no server is started: one ladder of
offered rates runs against the target's URL.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.core.catalog import ServerSpec
from harness.core.childenv import child_env
from harness.core.errors import PairingError, ServerError
from harness.core.gobuild import GoBuild
from harness.core.paths import PYTHON_DIR
from harness.core.process import ManagedProcess, describe_exit
from harness.core.request import request_env
from harness.core.serving import running_server, seconds, server_died
from harness.core.session import RunSession
from harness.core.target import Target
from harness.load.model import ceiling_rps, kept_up
from harness.load.report import LoadReport, build
from harness.load.steps import Step, parse_output, step_row

CEILING_FACTORS = (0.5, 0.8, 0.95, 1.1, 1.5)
"""A bounded server's ladder, as multiples of its predicted ceiling k / D (1.5: past 1.15 k / D)."""
FIXED_MAX_RPS = 2000.0
"""A bounded server whose 1.5 k / D is above this climbs instead, as an unbounded one."""
START_RPS = 100.0
"""Where a climb starts; it doubles while the server keeps up."""
CLIMB_MAX_RPS = 25600.0
"""The top of a climb: 8 doublings from 100/s (the client lags well before on 2 cores)."""
BISECTIONS = 2
"""Steps between the last rate kept up with and the first that was not, halving the gap."""
STEP_SLACK_S = 15.0


@dataclass(frozen=True)
class LoadPlan:
    servers: tuple[ServerSpec, ...]
    delay_s: float
    duration_s: float
    warmup_s: float
    rates: tuple[float, ...] | None
    """Offered rates for every server; ``None``: each server's own ladder."""
    arrivals: str = "constant"
    seed: int = 1
    target: Target | None = None
    """A server the harness did not start (``--target``): then ``servers`` is empty."""
    target_capacity: int | None = None
    """The target's k (``--as`` entry's or ``--capacity``); ``None``: unbounded or not declared."""
    server_cpus: frozenset[int] | None = None
    """The CPUs the started servers may run on (``None``: any)."""
    client_cpus: frozenset[int] | None = None
    """The CPUs the load client may run on (``None``: any)."""
    http: str = "1.1"
    """``2``: the load client speaks h2c with prior knowledge (``-http2``), requests as streams of few connections."""

    @property
    def ladders(self) -> dict[str, tuple[float, ...]]:
        """Every server's fixed ladder by its name in the report (empty: it climbs)."""
        if self.target is not None:
            return {self.target.name: self.ladder_at(self.target_capacity)}
        return {s.name: self.ladder_at(s.capacity) for s in self.servers}

    @property
    def capacities(self) -> dict[str, int | None]:
        """The declared k of every server of the report (a target's: its --as server's)."""
        if self.target is not None:
            return {self.target.name: self.target_capacity}
        return {s.name: s.capacity for s in self.servers}

    def ladder_at(self, capacity: int | None) -> tuple[float, ...]:
        """``--rates``, else a ladder around k / D; empty for a server that climbs (unbounded, or k / D
        beyond what a fixed ladder reaches)."""
        if self.rates:
            return self.rates
        ceiling = ceiling_rps(capacity, self.delay_s)
        if math.isinf(ceiling) or CEILING_FACTORS[-1] * ceiling > FIXED_MAX_RPS:
            return ()
        return tuple(round(f * ceiling, 3) for f in CEILING_FACTORS)

    def next_rate(self, capacity: int | None, done: list[tuple[float, dict[str, Any]]]) -> float | None:
        """The next offered rate after the steps ``done`` (rate, row), or ``None``: the ladder is over.

        A fixed ladder runs in order. A climb doubles from ``START_RPS`` while the server keeps up
        (``model.kept_up``), then bisects ``BISECTIONS`` times between the last rate kept up with and the
        first that was not. A step where the client lagged is one not kept up with (the report never takes it
        for the server's ceiling): the bisection below it can still find the server's."""
        if fixed := self.ladder_at(capacity):
            return fixed[len(done)] if len(done) < len(fixed) else None
        if not done:
            return START_RPS
        last_rate, last = done[-1]
        if last.get("status") != "ok":
            return None
        bad = [rate for rate, row in done if row.get("client_lagged") or not kept_up(row, self.delay_s)]
        if not bad:
            return last_rate * 2 if last_rate * 2 <= CLIMB_MAX_RPS else None
        hi = min(bad)
        lo = max((rate for rate, _ in done if rate < hi and rate not in bad), default=0.0)
        bisected = len(done) - 1 - [rate for rate, _ in done].index(bad[0])
        if bisected >= BISECTIONS or hi - lo < 2:
            return None
        return float(round((lo + hi) / 2))

    @property
    def request_timeout_s(self) -> float:
        """Long enough for the queue of the worst step to drain: 1.5 x the ceiling for T seconds."""
        return max(10.0, self.duration_s + 10 * self.delay_s)


def loadclient_argv(binary: str, server_url: str, rate: float, plan: LoadPlan) -> list[str]:
    """The load client's command line for one step at ``rate``."""
    return [
        binary, "-url", server_url, "-rate", f"{rate:g}",
        "-duration", f"{seconds(plan.duration_s)}s", "-warmup", f"{seconds(plan.warmup_s)}s",
        "-arrivals", plan.arrivals, "-seed", str(plan.seed), "-timeout", f"{seconds(plan.request_timeout_s)}s",
        *(["-echo-optional"] if plan.target is not None else []),  # as compare: the name comes back where echoed
        *(["-http2"] if plan.http == "2" else []),
    ]  # fmt: skip


def run_step(server_url: str, server_name: str, rate: float, *, plan: LoadPlan, go: GoBuild, logs: str) -> Step:
    argv = loadclient_argv(str(go.binaries["loadclient"]), server_url, rate, plan)
    request = request_env(plan.target.request if plan.target is not None else None)  # a user's endpoint
    proc = ManagedProcess(argv, name="loadclient", log_path=Path(logs) / f"load-{server_name}.log",
                          env=child_env(delay_s=plan.delay_s, extra=request), cwd=PYTHON_DIR,
                          capture_stdout=True, cpus=plan.client_cpus)  # fmt: skip
    budget = plan.warmup_s + plan.duration_s + plan.request_timeout_s + STEP_SLACK_S
    lines: list[str] = []
    with proc:
        deadline = time.monotonic() + budget
        try:
            while (item := proc.next_line(deadline - time.monotonic())) is not None:
                lines.append(item[1])
            code = proc.wait(5.0)
        except TimeoutError:
            step = Step(server_name, rate, status="over budget",
                        reason=f"the load client did not finish within {budget:g} s and was stopped")  # fmt: skip
            return step
    if code != 0:
        raise PairingError(f"loadclient exited ({describe_exit(code)}) at {rate:g}/s; its log: {proc.log_path}")
    requests, summary = parse_output("".join(lines), client="loadclient")
    return Step(server_name, rate, requests, summary)


def _ladder(plan: LoadPlan, capacity: int | None, run: Callable[[float], Step],
            on_step: Callable[[Step], None]) -> list[float]:  # fmt: skip
    """Run one server's ladder (fixed, or climbing from each step's row); the rates run."""
    done: list[tuple[float, dict[str, Any]]] = []
    while (rate := plan.next_rate(capacity, done)) is not None:
        step = run(rate)
        on_step(step)
        done.append((rate, step_row(step, delay_s=plan.delay_s)))
    return [rate for rate, _ in done]


def no_ladder(server: str, plan: LoadPlan) -> Step:
    """The row a server gets when its ladder has no step: it is listed with the reason, never dropped."""
    return Step(server, math.nan, status="no ladder",
                reason=f"no offered rate to run (--rates {plan.rates}, D = {plan.delay_s:g} s)")  # fmt: skip


def run_load(
    plan: LoadPlan,
    *,
    go: GoBuild,
    logs_dir: str,
    on_step: Callable[[Step], None],
    on_server: Callable[[str, str], None] = lambda server, event: None,
) -> None:
    """Every step of every server (or of the target); a server that fails to start or dies fails its
    steps, not the run. ``on_server(name, "done")`` follows each server's last step."""
    if (target := plan.target) is not None:
        on_server(target.name, f"target at {target.url}")

        def at_target(rate: float) -> Step:
            try:
                return run_step(target.url, target.name, rate, plan=plan, go=go, logs=logs_dir)
            except PairingError as exc:
                return Step(target.name, rate, status="failed", reason=str(exc))

        if not _ladder(plan, plan.target_capacity, at_target, on_step):
            on_step(no_ladder(target.name, plan))
        on_server(target.name, "done")
    for spec in plan.servers:
        _run_server(spec, plan, go=go, logs_dir=logs_dir, on_step=on_step, on_server=on_server)


def _run_server(spec: ServerSpec, plan: LoadPlan, *, go: GoBuild, logs_dir: str, on_step: Callable[[Step], None],
                on_server: Callable[[str, str], None]) -> None:  # fmt: skip
    on_server(spec.name, "starting")
    ran: list[float] = []
    try:
        with running_server(spec, delay_s=plan.delay_s, logs_dir=Path(logs_dir), go=go,
                            cpus=plan.server_cpus) as running:  # fmt: skip

            def at_server(rate: float) -> Step:
                ran.append(rate)
                try:
                    step = run_step(running.url, spec.name, rate, plan=plan, go=go, logs=logs_dir)
                except PairingError as exc:
                    step = Step(spec.name, rate, status="failed", reason=str(exc))
                if died := server_died(running, f"at {rate:g}/s"):
                    on_step(step)
                    raise died
                return step

            if not _ladder(plan, spec.capacity, at_server, on_step):
                on_step(no_ladder(spec.name, plan))
    except ServerError as exc:
        on_server(spec.name, f"failed: {exc}")
        if not ran:
            on_step(Step(spec.name, math.nan, status="failed", reason=str(exc).splitlines()[0]))
    on_server(spec.name, "done")


STEPS_FILE = "load-steps.jsonl"
"""Every step with its requests as it is measured, one JSON object a line, flushed at once."""


@dataclass
class LoadResults(RunSession):
    """The load run's steps as they arrive, each with its table row (``step_row``, computed once)."""

    RAW_FILE: ClassVar[str] = STEPS_FILE
    steps: list[Step] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: Step) -> dict[str, Any]:
        """Keep ``step`` (on disk at once) and return its row."""
        row = step_row(step, delay_s=float(self.settings["delay_s"]))
        self.steps.append(step)
        self.rows.append(row)
        self.append(step)
        return row

    def checkpoint(self, write: Callable[[], object]) -> None:
        """Rewrite the report with the run's duration so far (``duration_s`` is each step's counted time)."""
        self.settings["duration_run_s"] = time.perf_counter() - self.origin
        write()


def measure(plan: LoadPlan, *, go: Any, out_dir: Path, settings: dict[str, Any], environment: dict[str, Any],
            say: Any, export: Callable[[LoadReport], object]) -> int:  # fmt: skip
    """Run every step, rewriting the report (``export``) after each server, and draw the pictures at the end."""
    results = LoadResults(out_dir, settings, environment)
    capacities = plan.capacities
    last = list(plan.ladders)[-1] if plan.ladders else None
    built: LoadReport | None = None

    def report(pictures: tuple[Any, ...] = ()) -> LoadReport:
        return build(results.steps, settings=settings, environment=environment, capacities=capacities,
                     complete=results.complete, pictures=pictures, rows=results.rows)  # fmt: skip

    def write(pictures: tuple[Any, ...] = ()) -> None:
        nonlocal built
        built = report(pictures)
        export(built)

    def on_step(step: Step) -> None:
        row = results.add(step)
        if step.status != "ok":
            why = step.reason.splitlines()[0] if step.reason else ""
            say(f"  {step.offered_rps:>8g}/s  [red]{step.status}[/]: {why}")
        else:
            p50, p99 = (f"{v * 1e3:.0f}" if v is not None else "-" for v in (row["p50_s"], row["p99_s"]))
            lagged = "  [yellow]client lagged[/]" if row["client_lagged"] else ""
            protocols = ", ".join(f"{p} {n}" for p, n in sorted(row["protocols"].items())) or "none"
            over = f"  answered over {protocols}" if plan.http != "1.1" or len(row["protocols"]) > 1 else ""
            say(
                f"  {step.offered_rps:>8g}/s  achieved {row['achieved_rps'] or 0:7.1f}/s  p50 {p50:>6} ms  "
                f"p99 {p99:>7} ms  in flight {row['max_in_flight']}  failed {row['failed']} "
                f"(timed out {row['timed_out']})  late {row['late_sends']}  server CPU "
                f"{row['server_cpu_cores'] or 0:.2f}  client CPU {row['client_cpu_cores'] or 0:.2f}{lagged}{over}"
            )

    def on_server(server: str, event: str) -> None:
        if event == "done":
            if server != last:  # the final report comes from ``finish``
                results.checkpoint(write)
        else:
            say(f"[bold]{server}[/]: {event}")

    def finish() -> None:
        results.checkpoint(write)
        if results.complete and built is not None and len(built.steps):
            from harness.load.plot import load_pictures  # matplotlib: only when there is something to draw

            pictures = load_pictures(built.steps, capacities, plan.delay_s, out_dir=out_dir / "pictures",
                                     report_dir=out_dir)  # fmt: skip
            results.checkpoint(lambda: write(tuple(pictures)))
        for c in built.capacity if built is not None else ():
            say(f"{c.server}: {c.verdict} ({c.reason})")

    with results.running(finish):
        run_load(plan, go=go, logs_dir=str(out_dir / "logs"), on_step=on_step, on_server=on_server)
    failed = [s for s in results.steps if s.status == "failed"]
    return 1 if failed else 0
