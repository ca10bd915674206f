"""The compare run: every pairing of a plan, batch by batch.

For each server: start it (``core.serving.running_server``), run every client
against it (one client process runs the warm-up batch and then R counted
batches), stop it with all its children. A failing server or client fails only
the pairings it touches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from harness.compare.results import RunResults
from harness.core.calibration import Calibration
from harness.core.catalog import ClientSpec, ServerSpec
from harness.core.childenv import child_env
from harness.core.errors import ClientError, PairingError, ServerError
from harness.core.gobuild import GoBuild
from harness.core.paths import PYTHON_DIR
from harness.core.pidtree import TreeSampler
from harness.core.process import ManagedProcess
from harness.core.protocol import parse_batch_line
from harness.core.records import BatchRecord, Pairing
from harness.core.request import request_env
from harness.core.serving import (
    MachineCpu,
    RunningServer,
    base_values,
    batch_timeout_s,
    client_ended,
    fill,
    next_batch_line,
    request_timeout_s,
    running_server,
    seconds,
    server_died,
)
from harness.core.target import Target


@dataclass(frozen=True)
class Plan:
    servers: tuple[ServerSpec, ...]
    clients: tuple[ClientSpec, ...]
    delay_s: float
    n_clients: int
    repeats: int
    out_dir: Path
    work: str = "wait"
    calibration: Calibration | None = None
    """Set for ``work == "cpu"``: the rounds of CPU work per language."""
    connections: str = "reuse"
    """Every client's connection policy: ``reuse`` (the warm-up opens the batch's N
    connections, the counted batches reuse them) or ``fresh`` (a new one per request)."""
    http: str = "1.1"
    """``2``: every client speaks h2c with prior knowledge (its ``http2_flags``), N streams on one connection."""
    server_cpus: frozenset[int] | None = None
    """The CPUs every server (and its workers) may run on; ``None``: the harness's own."""
    client_cpus: frozenset[int] | None = None
    target: Target | None = None
    """A server the harness did not start (``--target``): then ``servers`` is empty."""

    @property
    def server_names(self) -> list[str]:
        """The servers of the report: the target's name, or the catalog servers run."""
        return [self.target.name] if self.target else [s.name for s in self.servers]

    def pairings(self) -> Iterator[tuple[ServerSpec, ClientSpec]]:
        for server in self.servers:
            for client in self.clients:
                yield server, client


def run_client(
    spec: ClientSpec,
    server: RunningServer | Target,
    *,
    plan: Plan,
    go: GoBuild | None,
    on_batch: Callable[[BatchRecord], None],
) -> None:
    """Run the warm-up and R counted batches of one client against one server (or the target)."""
    name = server.name if isinstance(server, Target) else server.spec.name
    shared_clock = server.shared_clock if isinstance(server, Target) else True
    request = server.request if isinstance(server, Target) else None
    tree_pid = server.server_pid if isinstance(server, Target) else None
    batches = 1 + plan.repeats
    timeout = request_timeout_s(plan.delay_s, plan.n_clients)
    wait_s = batch_timeout_s(spec, plan.delay_s, plan.n_clients)
    catalog_spec = server.spec if isinstance(server, RunningServer) else None
    connections = (catalog_spec.connections if catalog_spec else None) or plan.connections
    stagger = {"HARNESS_STAGGER_S": repr(catalog_spec.client_stagger_s)} if catalog_spec else {}
    wait_s += (catalog_spec.client_stagger_s if catalog_spec else 0.0) * plan.n_clients
    values = base_values(go, connections=connections, http=plan.http) | {
        "url": server.url,
        "clients": plan.n_clients,
        "batches": batches,
        "timeout": seconds(timeout),
    }
    command = (*spec.command, *spec.http2_flags) if plan.http == "2" else spec.command
    proc = ManagedProcess(
        fill(command, values),
        name=spec.name,
        log_path=plan.out_dir / "logs" / f"{name}--{spec.name}.log",
        env=child_env(
            delay_s=plan.delay_s, work=plan.work, extra={**dict(spec.env), **request_env(request), **stagger}
        ),
        cwd=PYTHON_DIR,
        capture_stdout=True,
        cpus=plan.client_cpus,
    )
    with proc, TreeSampler(tree_pid) if tree_pid else nullcontext() as tree:
        last = proc.started_at
        machine = MachineCpu()
        for repeat in range(batches):
            try:
                item = next_batch_line(proc, wait_s)
            except TimeoutError:
                raise ClientError(
                    f"{spec.name} hung: no batch within its timeout of {wait_s:g} s "
                    f"(batch {repeat + 1} of {batches}); it was stopped"
                ) from None
            if item is None:
                raise client_ended(proc, f"after {repeat} of {batches} batches")
            arrived, line = item
            window = machine.since_last()
            sampled = tree.since_last().to_dict() if tree is not None else None
            parsed = parse_batch_line(
                line,
                client=spec.name,
                clients=plan.n_clients,
                evidence_required=not isinstance(server, Target),
                shared_clock=shared_clock,
                request=request,
            )
            on_batch(
                BatchRecord(
                    server=name,
                    client=spec.name,
                    repeat=repeat,
                    clients=plan.n_clients,
                    delay_s=plan.delay_s,
                    wall_s=parsed.wall_s,
                    outside_s=arrived - last,
                    requests=parsed.requests,
                    work=plan.work,
                    client_cpu_s=parsed.cpu_s,
                    connections=connections,
                    machine_busy_cores=window.busy_cores if window else None,
                    machine_steal_share=window.steal_share if window else None,
                    shared_clock=shared_clock,
                    server_tree=sampled,
                )
            )
            last = arrived
            if isinstance(server, RunningServer) and (died := server_died(server, "during a batch")):
                raise died


def run_plan(
    plan: Plan,
    results: RunResults,
    *,
    go: GoBuild | None,
    progress: Progress,
    checkpoint: Callable[[], None] = lambda: None,
) -> None:
    """Measure every pairing of ``plan`` into ``results``; failures are recorded.

    ``checkpoint`` runs after every server but the last (the caller writes the
    final report), so the report on disk is never more than one server behind the
    measurements; every batch is on disk at once, in ``batches.jsonl``. After every
    pairing it took 46 rewrites, 6.8 s of a 244 s default run (``nox -s bench``);
    after every server, 2.0 s of 245 s. The caller may write it in the background
    (``RunSession.checkpoint_in_background``): it is settled once the next server
    is ready, before any of its batches, so it costs only what the start did not hide.
    """
    for server, client in plan.pairings():
        results.plan(server.name, client.name)
    if plan.target is not None:
        _run_target(plan, plan.target, results, go=go, progress=progress)
    for server in plan.servers:
        progress.server_starting(server.name)
        started = time.perf_counter()
        try:
            with running_server(
                server,
                delay_s=plan.delay_s,
                logs_dir=plan.out_dir / "logs",
                go=go,
                work=plan.work,
                calibration=plan.calibration,
                cpus=plan.server_cpus,
            ) as running:
                results.add_phase("server_start", started, server=server.name)
                with results.timed("report"):  # the last server's report, written while this one started
                    results.settle()
                progress.server_ready(server.name, running.ready_s)
                for client in plan.clients:
                    with results.timed("client", server=server.name, client=client.name):
                        _run_pairing(client, running, plan=plan, go=go, results=results, progress=progress)
                started = time.perf_counter()
            results.add_phase("server_stop", started, server=server.name)
        except ServerError as exc:
            for client in plan.clients:
                if results.pairings[(server.name, client.name)].status != "ok":
                    results.finish(server.name, client.name, "failed", str(exc))
            progress.server_failed(server.name, str(exc))
        finally:
            progress.server_stopped(server.name)
        if server is not plan.servers[-1]:
            checkpoint()


def _run_target(plan: Plan, target: Target, results: RunResults, *, go: GoBuild | None, progress: Progress) -> None:
    """Every client against a server the harness did not start (probed by the CLI before)."""
    for client in plan.clients:
        results.plan(target.name, client.name)
    progress.server_ready(target.name, None)
    for client in plan.clients:
        with results.timed("client", server=target.name, client=client.name):
            _run_pairing(client, target, plan=plan, go=go, results=results, progress=progress)


def _run_pairing(
    client: ClientSpec,
    running: RunningServer | Target,
    *,
    plan: Plan,
    go: GoBuild | None,
    results: RunResults,
    progress: Progress,
) -> None:
    key = (running.name if isinstance(running, Target) else running.spec.name, client.name)
    progress.pairing_started(*key)

    def on_batch(batch: BatchRecord) -> None:
        results.add_batch(batch)
        progress.batch_done(batch)

    try:
        run_client(client, running, plan=plan, go=go, on_batch=on_batch)
    except ServerError:
        raise
    except PairingError as exc:
        results.finish(*key, "failed", str(exc))
    except BaseException:  # Ctrl-C or SIGTERM: keep what this pairing measured, say so
        done = len(results.pairings[key].batches)
        results.finish(*key, "not measured", f"interrupted after {done} of {plan.repeats + 1} batches")
        raise
    else:
        if reason := failed_requests_reason(results.pairings[key].batches):
            results.finish(*key, "failed", reason)
        else:
            results.finish(*key, "ok")
    progress.pairing_done(results.pairings[key])


def failed_requests_reason(batches: list[BatchRecord]) -> str:
    """Why a pairing whose client ran to the end failed: its failed requests, counted
    apart for the warm-up (which is never in the figures) and the counted batches."""
    warmup = sum(len(b.failed) for b in batches if b.warmup)
    counted = sum(len(b.failed) for b in batches if not b.warmup)
    if not warmup and not counted:
        return ""
    first = next(r for b in batches for r in b.failed)
    where = []
    if counted:
        where.append(f"{counted} in the counted batches")
    if warmup:
        where.append(f"{warmup} in the warm-up batch")
    return f"{warmup + counted} request(s) failed ({', '.join(where)}), e.g. {first.name}: {first.error}"


class Progress:
    """What the runner reports while it works; the CLI supplies a visible one."""

    def server_starting(self, server: str) -> None: ...
    # seconds: from its start until it was ready; None for a --target (already running)
    def server_ready(self, server: str, seconds: float | None) -> None: ...
    def server_failed(self, server: str, reason: str) -> None: ...
    def server_stopped(self, server: str) -> None: ...
    def pairing_started(self, server: str, client: str) -> None: ...
    def batch_done(self, batch: BatchRecord) -> None: ...
    def pairing_done(self, pairing: Pairing) -> None: ...
