"""Run the open-model load: a ladder of offered rates per server, one load client per step.

For each server: start it, then for each offered rate λ of its ladder run the Go
load client (``go/loadclient``) for a short warm-up and T counted seconds on a
schedule fixed in advance, each request in its own goroutine, connections reused
and not capped. Every step is bounded (warm-up + T + the request timeout + slack);
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
from harness.load.model import ceiling_rps
from harness.load.report import LoadReport, build
from harness.load.steps import Step, parse_output, step_row

CEILING_FACTORS = (0.5, 0.8, 0.95, 1.1, 1.5)
"""A bounded server's ladder, as multiples of its predicted ceiling k / D."""
CLIENT_LIMIT_RPS = 1000.0
"""The top of an unbounded server's ladder: the Go load client sent on time (< 1 %
late) up to about 1500-2000 requests per second on the 2-core test machine, with the
server beside it; 1000/s leaves it room."""
UNBOUNDED_FACTORS = (0.1, 0.25, 0.5, 1.0)
"""An unbounded server's ladder, as multiples of ``CLIENT_LIMIT_RPS``."""
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
    client_limit_rps: float = CLIENT_LIMIT_RPS
    target: Target | None = None
    """A server the harness did not start (``--target``): then ``servers`` is empty."""
    target_capacity: int | None = None
    """The target's k (``--as`` entry's or ``--capacity``); ``None``: unbounded or not declared."""

    def ladder_for(self, spec: ServerSpec) -> tuple[float, ...]:
        return self.ladder_at(spec.capacity)

    @property
    def ladders(self) -> dict[str, tuple[float, ...]]:
        """Every server's ladder by its name in the report: the target's, or each started server's."""
        if self.target is not None:
            return {self.target.name: self.ladder_at(self.target_capacity)}
        return {s.name: self.ladder_for(s) for s in self.servers}

    @property
    def capacities(self) -> dict[str, int | None]:
        """The declared k of every server of the report (a target's: its --as server's)."""
        if self.target is not None:
            return {self.target.name: self.target_capacity}
        return {s.name: s.capacity for s in self.servers}

    def ladder_at(self, capacity: int | None) -> tuple[float, ...]:
        """``--rates``, else a ladder around k / D, else (unbounded) up to the client's limit."""
        if self.rates:
            return self.rates
        ceiling = ceiling_rps(capacity, self.delay_s)
        if math.isinf(ceiling):
            return tuple(round(f * self.client_limit_rps, 3) for f in UNBOUNDED_FACTORS)
        return tuple(round(f * ceiling, 3) for f in CEILING_FACTORS if f * ceiling <= self.client_limit_rps)

    @property
    def request_timeout_s(self) -> float:
        """Long enough for the queue of the worst step to drain: 1.5 x the ceiling for T seconds."""
        return max(10.0, self.duration_s + 10 * self.delay_s)


def run_step(server_url: str, server_name: str, rate: float, *, plan: LoadPlan, go: GoBuild, logs: str) -> Step:
    argv = [
        str(go.binaries["loadclient"]), "-url", server_url, "-rate", f"{rate:g}",
        "-duration", f"{seconds(plan.duration_s)}s", "-warmup", f"{seconds(plan.warmup_s)}s",
        "-arrivals", plan.arrivals, "-seed", str(plan.seed), "-timeout", f"{seconds(plan.request_timeout_s)}s",
        *(["-echo-optional"] if plan.target is not None else []),  # as compare: the name comes back where echoed
    ]  # fmt: skip
    request = request_env(plan.target.request if plan.target is not None else None)  # a user's endpoint
    proc = ManagedProcess(argv, name="loadclient", log_path=Path(logs) / f"load-{server_name}.log",
                          env=child_env(delay_s=plan.delay_s, extra=request), cwd=PYTHON_DIR,
                          capture_stdout=True)  # fmt: skip
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
        for rate in plan.ladders[target.name]:
            try:
                step = run_step(target.url, target.name, rate, plan=plan, go=go, logs=logs_dir)
            except PairingError as exc:
                step = Step(target.name, rate, status="failed", reason=str(exc))
            on_step(step)
        on_server(target.name, "done")
    for spec in plan.servers:
        on_server(spec.name, "starting")
        done: set[float] = set()
        try:
            with running_server(spec, delay_s=plan.delay_s, logs_dir=Path(logs_dir), go=go) as running:
                for rate in plan.ladder_for(spec):
                    try:
                        step = run_step(running.url, spec.name, rate, plan=plan, go=go, logs=logs_dir)
                    except PairingError as exc:
                        step = Step(spec.name, rate, status="failed", reason=str(exc))
                    on_step(step)
                    done.add(rate)
                    if died := server_died(running, f"at {rate:g}/s"):
                        raise died
        except ServerError as exc:
            on_server(spec.name, f"failed: {exc}")
            for rate in plan.ladder_for(spec):
                if rate not in done:
                    on_step(Step(spec.name, rate, status="failed", reason=str(exc).splitlines()[0]))
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
            p50, p99 = row["p50_s"] or 0.0, row["p99_s"] or 0.0
            lagged = "  [yellow]client lagged[/]" if row["client_lagged"] else ""
            say(
                f"  {step.offered_rps:>8g}/s  achieved {row['achieved_rps'] or 0:7.1f}/s  p50 {p50 * 1e3:6.0f} ms  "
                f"p99 {p99 * 1e3:7.0f} ms  in flight {row['max_in_flight']}  failed {row['failed']}  "
                f"late {row['late_sends']}{lagged}"
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
