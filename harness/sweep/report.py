"""Everything the sweep report shows, derived from the sweep's raw points.

``point_frame`` has one row per counted point (server x N) with its ratio, the
predicted ratio, the server-side evidence, the resources and the kernel's TCP
counters; ``frames.request_frame`` gives every request of every batch (warm-ups flagged).
Capacities are judged from ``point_frame`` by ``capacity``. Exporters
(``harness.sweep.markdown``, ``.json``, ``.csv``) and pictures (``harness.sweep.plot``) only read a
``SweepReport``; they compute nothing of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.core.catalog import Catalog
from harness.core.evidence import evidence
from harness.core.frames import request_frame
from harness.core.records import BatchRecord
from harness.core.target import target_line
from harness.sweep import capacity as capacity_mod
from harness.sweep.runner import SweepPoint, SweepResults

if TYPE_CHECKING:
    from harness.core.picture import Picture


POINT_COLUMNS = [
    "server",
    "client",
    "clients",
    "delay_s",
    "budget_s",
    "status",
    "reason",
    "wall_s",
    "ratio",
    "predicted_ratio",
    "effective_concurrency",
    "max_in_flight",
    "processes",
    "threads",
    "failed",
    "first_error",
    "late_max_d",
    "hold_max_d",
    "idle_rss_bytes",
    "peak_rss_bytes",
    "idle_threads",
    "peak_threads",
    "peak_processes",
    "samples",
    "server_cpu_s",
    "machine_busy",
    "listen_overflows",
    "syn_retrans",
    "remeasured",
]


@dataclass(frozen=True)
class SweepReport:
    status: str
    """``complete``, or ``partial`` when the sweep stopped early or a server failed."""
    notes: tuple[str, ...]
    settings: dict[str, Any]
    environment: dict[str, Any]
    points: pd.DataFrame
    capacity: tuple[capacity_mod.CapacityResult, ...]
    requests: pd.DataFrame
    catalog: Catalog
    pictures: tuple[Picture, ...] = ()
    intro: tuple[str, ...] = ()
    """Lines the reader must see first, complete or not: what a ``--target`` was and what it gave."""

    @property
    def servers(self) -> list[str]:
        return list(dict.fromkeys(self.points["server"]))

    def declared(self, server: str) -> int | None:
        """The catalog's k (``None``: unbounded, or a --target not declared with --as)."""
        spec = self.catalog.servers_by_name.get(server)
        return spec.capacity if spec else None

    def is_declared(self, server: str) -> bool:
        """The server is a catalog entry (a --target is one only with --as): its k is known."""
        return server in self.catalog.servers_by_name


def _batch_numbers(batch: BatchRecord) -> dict[str, Any]:
    ev = evidence(batch.requests)
    served = [(r.enter_ns, r.exit_ns) for r in batch.requests if r.enter_ns is not None and r.exit_ns is not None]
    start = min(r.sent_ns for r in batch.requests)
    d_ns = batch.delay_s * 1e9
    failed = batch.failed
    return {
        "wall_s": batch.wall_s,
        "ratio": batch.ratio,
        "effective_concurrency": batch.clients * batch.delay_s / batch.wall_s if batch.wall_s > 0 else None,
        "max_in_flight": ev.max_in_flight,
        "processes": ev.processes,
        "threads": ev.threads,
        "failed": len(failed),
        "first_error": (failed[0].error or "")[:160] if failed else "",
        "late_max_d": max((enter - start) / d_ns for enter, _ in served) if served else None,
        "hold_max_d": max((exit_ - enter) / d_ns for enter, exit_ in served) if served else None,
    }


def point_frame(points: Iterable[SweepPoint], catalog: Catalog) -> pd.DataFrame:
    """One row per counted point; what was not measured stays empty (never invented)."""
    rows: list[dict[str, Any]] = []
    for p in points:
        if p.warmup:
            continue
        first = None
        if p.remeasure:  # the re-measure of a miss replaces it; the first batch is named in its row
            first = next((r for r in reversed(rows) if (r["server"], r["clients"]) == (p.server, p.clients)), None)
            if first is not None:
                rows.remove(first)
        spec = catalog.servers_by_name.get(p.server)  # None: a --target without --as
        k = spec.capacity if spec else None
        row: dict[str, Any] = {
            "server": p.server,
            "client": p.client,
            "clients": p.clients,
            "delay_s": p.delay_s,
            "budget_s": p.budget_s,
            "status": p.status,
            "reason": p.reason,
            "predicted_ratio": capacity_mod.predicted_ratio(p.clients, k) if spec else None,
        }
        if p.batch is not None:
            row.update(_batch_numbers(p.batch))
        if p.resources is not None:
            r = p.resources
            row.update(
                idle_rss_bytes=r.idle_rss_bytes,
                peak_rss_bytes=r.peak_rss_bytes,
                idle_threads=r.idle_threads,
                peak_threads=r.peak_threads,
                peak_processes=r.peak_processes,
                samples=r.samples,
                server_cpu_s=r.cpu_s if r.window_s > 0 else None,
                machine_busy=r.machine_busy if r.window_s > 0 else None,
            )
        if p.tcp:
            row.update(listen_overflows=p.tcp.get("ListenOverflows"), syn_retrans=p.tcp.get("TCPSynRetrans"))
        if p.remeasure:
            was = f"{first['ratio']:.2f}x" if first is not None and first.get("ratio") is not None else "no batch"
            row["remeasured"] = f"re-measured after a miss (first batch {was}; the second is judged)"
        rows.append(row)
    frame = pd.DataFrame(rows, columns=POINT_COLUMNS)
    counts = ("max_in_flight", "processes", "threads", "failed", "peak_threads", "idle_threads", "samples")
    for col in (*counts, "idle_rss_bytes", "peak_rss_bytes", "peak_processes", "listen_overflows", "syn_retrans"):
        frame[col] = frame[col].astype("Int64")
    return frame


def build(results: SweepResults, pictures: tuple[Picture, ...] = ()) -> SweepReport:
    points = point_frame(results.points, results.catalog)
    declared = {s.name: (s.capacity, s.capacity_reason) for s in results.catalog.servers}
    target = results.settings.get("target")
    if target and not target.get("as") and target.get("capacity") is None:
        declared[target["name"]] = (None, "")
    backlogs = {s.name: s.backlog for s in results.catalog.servers if s.backlog is not None}
    capacities = tuple(capacity_mod.assess_all(points, declared, backlogs)) if len(points) else ()
    intro: tuple[str, ...] = ()
    if target:
        capacities = tuple(target_capacity(c, target) for c in capacities)
        resources = (
            f"Resources sampled from the process tree of pid {target['server_pid']} (--server-pid): RSS, OS threads "
            "and CPU are that tree's, read from outside; in flight comes only from the target's evidence."
            if target.get("server_pid")
            else "Resources not sampled: the harness did not start the target, so it has none of its processes to "
            "read (RSS, OS threads, server CPU and machine busy are left empty; --server-pid PID samples one on "
            "this host)."
        )
        intro = ("T" + target_line(target)[1:] + ".", resources)
    notes = []
    if results.interrupted:
        notes.append(f"The sweep was interrupted ({results.interrupted}).")
    for server, reason in results.failures.items():
        notes.append(f"{server} failed: {reason}")
    planned = results.settings.get("servers", [])
    missing = [s for s in planned if s not in set(points["server"])]
    if missing:
        notes.append(f"Not swept: {', '.join(missing)}.")
    status = "complete" if results.complete and not results.failures and not missing else "partial"
    return SweepReport(
        status=status,
        notes=tuple(notes),
        settings=results.settings,
        environment=results.environment,
        points=points,
        capacity=capacities,
        requests=request_frame(p.batch for p in results.points if p.batch is not None),
        catalog=results.catalog,
        pictures=pictures,
        intro=intro,
    )


def target_capacity(result: capacity_mod.CapacityResult, target: dict[str, Any]) -> capacity_mod.CapacityResult:
    """A --target's verdict: against the ``--as`` server's declared k when given and the
    answers carry the evidence (in flight), else not checked, and why."""
    if not target.get("as") and target.get("capacity") is None:
        return replace(result, verdict="not checked", reason="no --as or --capacity: the target declares no capacity")
    if not target.get("evidence"):
        why = "no evidence fields from the target: how many were in flight at once is unknown"
        return replace(result, measured=None, measured_at_least=False, verdict="not checked", reason=why)
    return result
