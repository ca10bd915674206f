"""The concurrency sweep: every server against N = 1, 2, 5, ... 1000 requests at once.

One server at a time is started (``runner.running_server``), warmed up with one
batch of ``WARMUP_CLIENTS``, then measured once per point of its ladder: a fresh
client process sends N requests at once (one batch) while a sampler thread reads
the server's whole process group (RSS summed, threads counted) with psutil.

Time is bounded twice. Every request of a point times out after the budget, so a
point takes at most about the budget; a point that used up its budget is reported
*over budget* and the server's larger N are *not run* (they would take longer
still). The raw records go to ``sweep-batches.jsonl`` as each point finishes.

With ``--target`` (``core.target.Target``) no server is started: the warm-up and the
ladder run against the target's URL, and its resources are not sampled (the harness
has none of its processes to read).
"""

from __future__ import annotations

import json
import resource
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import psutil

from harness.core.calibration import Calibration
from harness.core.catalog import ClientSpec, ServerSpec
from harness.core.childenv import child_env
from harness.core.errors import PairingError, ServerError
from harness.core.evidence import evidence
from harness.core.gobuild import GoBuild
from harness.core.paths import PYTHON_DIR
from harness.core.pidtree import ProcessTree
from harness.core.process import ManagedProcess
from harness.core.protocol import parse_batch_line
from harness.core.records import BatchRecord, RequestRecord
from harness.core.request import request_env
from harness.core.serving import (
    RunningServer,
    base_values,
    client_ended,
    fill,
    next_batch_line,
    running_server,
    seconds,
    server_died,
)
from harness.core.session import RunSession
from harness.core.target import Target
from harness.core.thresholds import CONCURRENT_MAX_RATIO as AT_ONCE_MAX_RATIO

DEFAULT_LADDER = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
DEFAULT_DELAY_S = 1.0
"""D for the sweep: connecting 1000 clients at once took ~0.25 s on the 2-core test
machine, so D = 1 s keeps an unbounded server near 1.25x, inside the ~1x threshold
(1.5x), where D = 0.5 s sat right on it."""
DEFAULT_BUDGET_S = 35.0
"""Per point: every request times out after this. At D = 1 s a serial server
finishes N = 20 and runs out at N = 50; a 5-wide one finishes N = 100 and runs out
at N = 200; the 40-thread pool finishes N = 1000 (25 s)."""
DEFAULT_CLIENT = "go-goroutines"
"""The article's client: one goroutine per request, and Go's transport holds a thousand
connections without a pool of its own in the way (docs/sweep.md says how to compare
the clients at N = 1000 yourself)."""
WARMUP_CLIENTS = 5
"""One batch of this many before the ladder, so lazily booted workers are ready."""
SAMPLE_INTERVAL_S = 0.02
GROUP_REFRESH_S = 0.5
"""How often the sampler looks for new processes in the group (a full process scan)."""
SETTLE_S = 0.3
"""Pause between points so the last point's connections and threads wind down."""
HARD_WAIT_FACTOR = 3
"""A client gets HARD_WAIT_FACTOR x budget + HARD_WAIT_SLACK_S to print its batch
(httpx applies its timeout per phase: connect, then read), then it is stopped."""
HARD_WAIT_SLACK_S = 15.0

TCP_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPSynRetrans", "TCPReqQFullDoCookies")
"""Kernel counters (``/proc/net/netstat``, TcpExt) that say why connecting was slow:
an accept queue that overflowed drops the SYN, and the client resends it 1 s later."""

PointStatus = Literal["ok", "over budget", "failed", "not run"]


@dataclass(frozen=True)
class Resources:
    """The server's process group before (idle) and at its peak during a batch."""

    idle_rss_bytes: int
    idle_threads: int
    peak_rss_bytes: int
    peak_threads: int
    peak_processes: int
    samples: int
    window_s: float = 0.0
    """How long the sampler ran: from just before the client started until it stopped."""
    cpu_s: float = 0.0
    """CPU time (user + system) the server's processes used in that window."""
    machine_busy: float = 0.0
    """Share of all the machine's cores that were busy in that window (0..1), anyone's work."""


@dataclass(frozen=True)
class SweepPoint:
    """One server x N: the raw batch (when there is one) and the resources seen."""

    server: str
    client: str
    clients: int
    delay_s: float
    budget_s: float
    status: PointStatus
    reason: str = ""
    warmup: bool = False
    remeasure: bool = False
    """A second batch at this N, because the first was a miss (not served at once): one
    SYN resend or a stall should not decide a capacity on its own."""
    batch: BatchRecord | None = None
    resources: Resources | None = None
    tcp: dict[str, int] = field(default_factory=dict)
    """How much each of ``TCP_COUNTERS`` grew during the point (machine-wide)."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SweepPoint:
        """A point as read back from ``sweep-batches.jsonl`` (written as ``asdict``)."""
        values = dict(data)
        if values.get("batch") is not None:
            batch = dict(values["batch"])
            batch["requests"] = tuple(RequestRecord(**r) for r in batch["requests"])
            values["batch"] = BatchRecord(**batch)
        if values.get("resources") is not None:
            values["resources"] = Resources(**values["resources"])
        return cls(**values)


def read_points(path: Path) -> list[SweepPoint]:
    """Every point of a raw sweep file, warm-ups included."""
    with open(path, encoding="utf-8") as f:
        return [SweepPoint.from_json(json.loads(line)) for line in f if line.strip()]


@dataclass(frozen=True)
class SweepPlan:
    servers: tuple[ServerSpec, ...]
    client: ClientSpec
    ladder: tuple[int, ...]
    delay_s: float
    budget_s: float
    out_dir: Path
    work: str = "wait"
    calibration: Calibration | None = None
    """Set for ``work == "cpu"``: the rounds of CPU work per language."""
    target: Target | None = None
    """A server the harness did not start (``--target``): then ``servers`` is empty."""
    target_spec: ServerSpec | None = None
    """The catalog server the target runs (``--as``): its capacity sets the ladder's probe points."""
    http: str = "1.1"
    """``2``: the client speaks h2c (its ``http2_flags``), each point's N requests as N streams of one connection."""

    def ladder_for(self, spec: ServerSpec) -> tuple[int, ...]:
        return ladder_for(spec, self.ladder)

    @property
    def target_ladder(self) -> tuple[int, ...]:
        """The target's ladder: with ``--as`` as that server's, else the plain ladder."""
        return self.ladder_for(self.target_spec) if self.target_spec else tuple(sorted(set(self.ladder)))

    @property
    def ladders(self) -> dict[str, tuple[int, ...]]:
        """Every server's ladder, by its name in the report."""
        if self.target is not None:
            return {self.target.name: self.target_ladder}
        return {s.name: self.ladder_for(s) for s in self.servers}


def ladder_for(spec: ServerSpec, ladder: Sequence[int]) -> tuple[int, ...]:
    """The ladder plus the probe points k and k+1 of a bounded server (up to its top),
    so the measured capacity can be exactly k rather than the nearest rung."""
    top = max(ladder)
    points = set(ladder)
    if spec.capacity is not None:
        points |= {n for n in (spec.capacity, spec.capacity + 1) if n <= top}
    return tuple(sorted(points))


RAW_FILE = "sweep-batches.jsonl"
"""Every point as it is measured, one JSON object a line, flushed at once."""


@dataclass
class SweepResults(RunSession):
    """The sweep's records as they arrive; each point is appended to the raw file at once."""

    RAW_FILE: ClassVar[str] = RAW_FILE
    points: list[SweepPoint] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    """Servers that failed to start or died, with the reason."""

    def add(self, point: SweepPoint) -> None:
        self.points.append(point)
        self.append(point)


class ResourceSampler:
    """Peak RSS (summed over the process group) and threads of a server, in the background.

    The group is rescanned every ``GROUP_REFRESH_S`` (a scan reads every process of
    the machine); between scans only the known members are read, which is cheap
    enough to sample every ``SAMPLE_INTERVAL_S``. RSS counts shared pages once per
    process, so pre-forked workers add up to more than the memory they really use.
    """

    def __init__(self, proc: ManagedProcess | ProcessTree, *, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.proc = proc
        self.interval_s = interval_s
        self._members: list[psutil.Process] = []
        self._scanned = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle: tuple[int, int, int] = (0, 0, 0)
        self._peak_rss = self._peak_threads = self._peak_procs = self._samples = 0
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._started = self._stopped = 0.0
        self._machine: tuple[float, float] = (0.0, 0.0)

    def sample(self) -> tuple[int, int, int]:
        """(RSS bytes, threads, processes) of the group now."""
        now = time.monotonic()
        if now - self._scanned > GROUP_REFRESH_S or not self._members:
            self._members = self.proc.group()
            self._scanned = now
        rss = threads = procs = 0
        for p in self._members:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    threads += p.num_threads()
                    cpu = p.cpu_times()
                procs += 1
                # A process first seen mid-batch counts from its start (it was born in the window).
                self._cpu_first.setdefault(p.pid, cpu.user + cpu.system if self._started == 0.0 else 0.0)
                self._cpu_last[p.pid] = cpu.user + cpu.system
            except psutil.Error:
                continue
        return rss, threads, procs

    def _run(self) -> None:
        while not self._stop.is_set():
            self._record(self.sample())
            self._stop.wait(self.interval_s)

    def _record(self, sample: tuple[int, int, int]) -> None:
        rss, threads, procs = sample
        self._peak_rss = max(self._peak_rss, rss)
        self._peak_threads = max(self._peak_threads, threads)
        self._peak_procs = max(self._peak_procs, procs)
        self._samples += 1

    @staticmethod
    def _machine_times() -> tuple[float, float]:
        """(busy, total) CPU seconds of the whole machine so far."""
        t = psutil.cpu_times()
        fields = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")  # guest is in user
        total = sum(getattr(t, f, 0.0) for f in fields)
        idle = t.idle + getattr(t, "iowait", 0.0)
        return total - idle, total

    def __enter__(self) -> ResourceSampler:
        self._idle = self.sample()
        self._record(self._idle)
        self._started = time.monotonic()
        self._machine = self._machine_times()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._record(self.sample())
        self._stopped = time.monotonic()
        busy, total = self._machine_times()
        self._machine = (busy - self._machine[0], total - self._machine[1])

    def result(self) -> Resources:
        return Resources(
            idle_rss_bytes=self._idle[0],
            idle_threads=self._idle[1],
            peak_rss_bytes=self._peak_rss,
            peak_threads=self._peak_threads,
            peak_processes=self._peak_procs,
            samples=self._samples,
            window_s=max(self._stopped - self._started, 0.0),
            cpu_s=sum(last - self._cpu_first.get(pid, 0.0) for pid, last in self._cpu_last.items()),
            machine_busy=self._machine[0] / self._machine[1] if self._machine[1] > 0 else 0.0,
        )


def tcp_counters() -> dict[str, int]:
    """The current values of ``TCP_COUNTERS``; empty where the kernel has none."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return {}
    for head, values in zip(lines[::2], lines[1::2], strict=False):
        if head.startswith("TcpExt:"):
            table = dict(zip(head.split()[1:], values.split()[1:], strict=False))
            return {k: int(table[k]) for k in TCP_COUNTERS if k in table}
    return {}


def _grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before if k in after}


def raise_open_files_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard one; children inherit it.

    1000 clients need 1000 sockets in the client and as many in the server.
    Returns the soft limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20) if soft != resource.RLIM_INFINITY else soft
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft
        return hard
    return soft


def run_point(
    client: ClientSpec,
    server: RunningServer | Target,
    n: int,
    *,
    plan: SweepPlan,
    go: GoBuild | None,
    warmup: bool = False,
    remeasure: bool = False,
) -> SweepPoint:
    """One batch of N requests at once from a fresh client process, with the server sampled
    (a target is not: the harness has none of its processes)."""
    target = server if isinstance(server, Target) else None
    name = server.name if isinstance(server, Target) else server.spec.name
    values = base_values(go) | {
        "url": server.url,
        "clients": n,
        "batches": 1,
        "timeout": seconds(plan.budget_s),
    }
    command = (*client.command, *client.http2_flags) if plan.http == "2" else client.command
    proc = ManagedProcess(
        fill(command, values),
        name=client.name,
        log_path=plan.out_dir / "logs" / "sweep" / f"{name}--{client.name}.log",
        env=child_env(
            delay_s=plan.delay_s,
            work=plan.work,
            extra={**dict(client.env), **request_env(target.request if target else None)},
        ),
        cwd=PYTHON_DIR,
        capture_stdout=True,
    )
    point: dict[str, Any] = {
        "server": name,
        "client": client.name,
        "clients": n,
        "delay_s": plan.delay_s,
        "budget_s": plan.budget_s,
        "warmup": warmup,
        "remeasure": remeasure,
    }
    hard_wait = HARD_WAIT_FACTOR * plan.budget_s + HARD_WAIT_SLACK_S
    if isinstance(server, RunningServer):
        sampler: ResourceSampler | None = ResourceSampler(server.proc)
    else:  # a --target: its process tree when --server-pid names it (this host), else nothing to read
        sampler = ResourceSampler(ProcessTree(server.server_pid)) if server.server_pid else None
    tcp_before = tcp_counters()
    with sampler or nullcontext(), proc:
        try:
            item = next_batch_line(proc, hard_wait)
        except TimeoutError:
            item = None
            hung = True
        else:
            hung = False
        if item is None and not hung:
            ended = client_ended(proc, f"at N={n}")
    point["resources"] = sampler.result() if sampler else None
    point["tcp"] = _grown(tcp_before, tcp_counters())
    if hung:
        reason = f"the client printed no batch within {hard_wait:g} s and was stopped"
        return SweepPoint(**point, status="over budget", reason=reason)
    if item is None:
        raise ended
    arrived, line = item
    shared_clock = target.shared_clock if target else True
    parsed = parse_batch_line(
        line,
        client=client.name,
        clients=n,
        evidence_required=target is None,
        shared_clock=shared_clock,
        request=target.request if target else None,
    )
    batch = BatchRecord(
        server=name,
        client=client.name,
        repeat=0 if warmup else 1,
        clients=n,
        delay_s=plan.delay_s,
        wall_s=parsed.wall_s,
        outside_s=arrived - proc.started_at,
        requests=parsed.requests,
        work=plan.work,
        client_cpu_s=parsed.cpu_s,
        connections=parsed.connections,
        shared_clock=shared_clock,
    )
    died = server_died(server, f"at N={n}") if isinstance(server, RunningServer) else None
    if died:  # keep what was measured; the sweep then stops this server
        return SweepPoint(**point, status="failed", reason=str(died).splitlines()[0], batch=batch)
    if batch.wall_s >= plan.budget_s:
        reason = f"took the whole budget of {plan.budget_s:g} s ({len(batch.failed)} of {n} requests timed out)"
        return SweepPoint(**point, status="over budget", reason=reason, batch=batch)
    return SweepPoint(**point, status="ok", batch=batch)


def is_miss(point: SweepPoint) -> bool:
    """A point that ran but was not served at once (about 1 x D, all N in flight, none failed);
    an over-budget point is not re-measured (its budget was spent already)."""
    if point.status != "ok" or point.batch is None:
        return False
    b = point.batch
    at_once = b.ratio <= AT_ONCE_MAX_RATIO and evidence(b.requests).max_in_flight == b.clients and not b.failed
    return not at_once


class SweepProgress:
    """What the sweep reports while it works; the CLI supplies a visible one."""

    def server_starting(self, server: str, ladder: tuple[int, ...]) -> None: ...
    # seconds: from its start until it was ready; None for a --target (already running)
    def server_ready(self, server: str, seconds: float | None) -> None: ...
    def server_failed(self, server: str, reason: str) -> None: ...
    def point_done(self, point: SweepPoint) -> None: ...


def _point(name: str, plan: SweepPlan, n: int, status: PointStatus, reason: str) -> SweepPoint:
    return SweepPoint(
        server=name,
        client=plan.client.name,
        clients=n,
        delay_s=plan.delay_s,
        budget_s=plan.budget_s,
        status=status,
        reason=reason,
    )


def sweep_server(
    spec: ServerSpec,
    *,
    plan: SweepPlan,
    results: SweepResults,
    go: GoBuild | None,
    progress: SweepProgress,
) -> None:
    """Warm up, then every N of the server's ladder until one runs out of budget."""
    ladder = plan.ladder_for(spec)
    progress.server_starting(spec.name, ladder)
    done: set[int] = set()

    def add(point: SweepPoint) -> None:
        results.add(point)
        done.add(point.clients)
        progress.point_done(point)

    skip = ""
    current: int | None = None
    missed = False
    try:
        with running_server(
            spec,
            delay_s=plan.delay_s,
            logs_dir=plan.out_dir / "logs" / "sweep",
            go=go,
            work=plan.work,
            calibration=plan.calibration,
        ) as running:
            progress.server_ready(spec.name, running.ready_s)
            try:
                results.add(run_point(plan.client, running, WARMUP_CLIENTS, plan=plan, go=go, warmup=True))
            except ServerError:
                raise
            except PairingError as exc:  # recorded; the ladder's points then fail or pass on their own
                warm = _point(spec.name, plan, WARMUP_CLIENTS, "failed", str(exc).splitlines()[0])
                results.add(replace(warm, warmup=True))
            if died := server_died(running, "at the warm-up"):
                raise died
            for n in ladder:
                if skip:
                    add(_point(spec.name, plan, n, "not run", skip))
                    continue
                time.sleep(SETTLE_S)
                current = n
                try:
                    point = run_point(plan.client, running, n, plan=plan, go=go)
                except ServerError:
                    raise
                except PairingError as exc:
                    point = _point(spec.name, plan, n, "failed", str(exc).splitlines()[0])
                add(point)
                if not missed and is_miss(point):  # the first miss decides the capacity: measure it again
                    missed = True
                    time.sleep(SETTLE_S)
                    try:
                        point = run_point(plan.client, running, n, plan=plan, go=go, remeasure=True)
                    except ServerError:
                        raise
                    except PairingError as exc:
                        point = replace(_point(spec.name, plan, n, "failed", str(exc).splitlines()[0]),
                                        remeasure=True)  # fmt: skip
                    add(point)
                current = None
                if died := server_died(running, f"at N={n}"):
                    raise died
                if point.status == "over budget":
                    skip = f"not run: exceeded the budget at N={n}"
    except ServerError as exc:
        reason = str(exc).splitlines()[0]
        results.failures[spec.name] = reason
        progress.server_failed(spec.name, reason)
        for n in (n for n in ladder if n not in done):
            if n == current:  # the point in progress when the server died
                add(_point(spec.name, plan, n, "failed", reason))
            else:
                add(_point(spec.name, plan, n, "not run", f"not run: {reason}"))


def sweep_target(target: Target, *, plan: SweepPlan, results: SweepResults, go: GoBuild | None,
                 progress: SweepProgress) -> None:  # fmt: skip
    """Warm up, then every N of the target's ladder until one runs out of budget; nothing is started."""
    ladder = plan.target_ladder
    progress.server_starting(target.name, ladder)
    progress.server_ready(target.name, None)
    try:
        results.add(run_point(plan.client, target, WARMUP_CLIENTS, plan=plan, go=go, warmup=True))
    except PairingError as exc:  # recorded; the ladder's points then fail or pass on their own
        warm = _point(target.name, plan, WARMUP_CLIENTS, "failed", str(exc).splitlines()[0])
        results.add(replace(warm, warmup=True))
    skip = ""
    for n in ladder:
        if skip:
            point = _point(target.name, plan, n, "not run", skip)
        else:
            time.sleep(SETTLE_S)
            try:
                point = run_point(plan.client, target, n, plan=plan, go=go)
            except PairingError as exc:
                point = _point(target.name, plan, n, "failed", str(exc).splitlines()[0])
            if point.status == "over budget":
                skip = f"not run: exceeded the budget at N={n}"
        results.add(point)
        progress.point_done(point)


def run_sweep(
    plan: SweepPlan,
    results: SweepResults,
    *,
    go: GoBuild | None,
    progress: SweepProgress,
    checkpoint: Callable[[], None] = lambda: None,
) -> None:
    """Sweep every server of ``plan`` (or its target); ``checkpoint`` runs after each one."""
    if plan.target is not None:
        sweep_target(plan.target, plan=plan, results=results, go=go, progress=progress)
    for spec in plan.servers:
        sweep_server(spec, plan=plan, results=results, go=go, progress=progress)
        checkpoint()
