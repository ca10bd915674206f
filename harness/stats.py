"""Summaries of a run, derived from its raw records with pandas.

``batch_frame`` has one row per batch (warm-ups included, flagged) with the
batch's ratio and its server-side evidence; ``pairing_frame`` has one row per
server x client pairing, measured or not. Nothing here is stored twice: the report
recomputes both from the records every time it is written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import pandas as pd

from harness.evidence import evidence
from harness.model import BatchRecord, Pairing

BATCH_COLUMNS = [
    "server",
    "client",
    "repeat",
    "warmup",
    "clients",
    "delay_s",
    "work",
    "wall_s",
    "outside_s",
    "ratio",
    "max_in_flight",
    "processes",
    "threads",
    "failed",
    "latency_median_s",
    "held_median_s",
]

PAIRING_COLUMNS = [
    "server",
    "client",
    "work",
    "delay_s",
    "clients",
    "repeats",
    "status",
    "reason",
    "ratio_median",
    "ratio_min",
    "ratio_max",
    "max_in_flight",
    "processes",
    "threads",
    "failed_requests",
    "latency_median_s",
    "held_ratio_median",
    "outside_ratio_median",
]


def _median_low(values: pd.Series) -> int:
    ordered = values.sort_values().reset_index(drop=True)
    return int(ordered.iloc[(len(ordered) - 1) // 2])


def batch_frame(pairings: Iterable[Pairing]) -> pd.DataFrame:
    rows = []
    for pairing in pairings:
        for b in pairing.batches:
            ev = evidence(b.requests)
            latencies = [r.latency_s for r in b.requests if r.ok]
            held = [(r.exit_ns - r.enter_ns) / 1e9 for r in b.requests if r.ok and r.enter_ns and r.exit_ns]
            rows.append(
                {
                    "server": b.server,
                    "client": b.client,
                    "repeat": b.repeat,
                    "warmup": b.warmup,
                    "clients": b.clients,
                    "delay_s": b.delay_s,
                    "work": b.work,
                    "wall_s": b.wall_s,
                    "outside_s": b.outside_s,
                    "ratio": b.ratio,
                    "max_in_flight": ev.max_in_flight,
                    "processes": ev.processes,
                    "threads": ev.threads,
                    "failed": len(b.failed),
                    "latency_median_s": pd.Series(latencies).median() if latencies else float("nan"),
                    "held_median_s": pd.Series(held).median() if held else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=BATCH_COLUMNS)


def pairing_frame(
    pairings: Iterable[Pairing], batches: pd.DataFrame, *, delay_s: float, clients: int, work: str
) -> pd.DataFrame:
    """One row per pairing; unmeasured numbers are NaN (never invented)."""
    counted = batches[~batches["warmup"]] if len(batches) else batches
    groups = dict(iter(counted.groupby(["server", "client"]))) if len(counted) else {}
    rows = []
    for p in pairings:
        row: dict[str, object] = {
            "server": p.server,
            "client": p.client,
            "work": work,
            "delay_s": delay_s,
            "clients": clients,
            "repeats": 0,
            "status": p.status,
            "reason": p.reason,
        }
        g = groups.get((p.server, p.client))
        if g is not None and len(g):
            row.update(
                {
                    "repeats": len(g),
                    "ratio_median": g["ratio"].median(),
                    "ratio_min": g["ratio"].min(),
                    "ratio_max": g["ratio"].max(),
                    "max_in_flight": _median_low(g["max_in_flight"]),
                    "processes": _median_low(g["processes"]),
                    "threads": _median_low(g["threads"]),
                    "failed_requests": int(g["failed"].sum()),
                    "latency_median_s": g["latency_median_s"].median(),
                    "held_ratio_median": (g["held_median_s"] / g["delay_s"]).median(),
                    "outside_ratio_median": (g["outside_s"] / g["delay_s"]).median(),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=PAIRING_COLUMNS)


REQUEST_COLUMNS = [
    "server", "client", "work", "clients", "repeat", "warmup", "name", "status", "error", "pid", "thread",
    "handler", "enter_ns", "exit_ns", "sent_ns", "recv_ns", "latency_s",
]  # fmt: skip


def request_frame(batches: Iterable[BatchRecord]) -> pd.DataFrame:
    """One row per request: the raw evidence, for requests.csv and sweep-requests.csv."""
    rows = [
        {
            "server": b.server,
            "client": b.client,
            "work": b.work,
            "clients": b.clients,
            "repeat": b.repeat,
            "warmup": b.warmup,
            "name": r.name,
            "status": r.status,
            "error": r.error or "",
            "pid": r.pid,
            "thread": r.thread,
            "handler": r.handler,
            "enter_ns": r.enter_ns,
            "exit_ns": r.exit_ns,
            "sent_ns": r.sent_ns,
            "recv_ns": r.recv_ns,
            "latency_s": r.latency_s,
        }
        for b in batches
        for r in b.requests
    ]
    frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    for col in ("pid", "enter_ns", "exit_ns"):
        frame[col] = frame[col].astype("Int64")
    return frame


def solo_call_s(pairings: Iterable[Pairing], is_go: Callable[[str], bool]) -> dict[str, float]:
    """Per language ("python", "go"), the median handler time of the counted requests
    that ran alone: nothing else of their batch was in flight on the server. That is
    one call as this run measured it, pooled over every server of the language, so
    one odd pattern (a slow server behind one client) cannot move it much."""
    held: dict[str, list[float]] = {}
    for pairing in pairings:
        language = "go" if is_go(pairing.server) else "python"
        for batch in pairing.counted:
            done = sorted(
                (r.enter_ns, r.exit_ns)
                for r in batch.requests
                if r.ok and r.enter_ns is not None and r.exit_ns is not None
            )
            latest_exit = None  # of the requests that entered before this one
            for i, (enter, exit_) in enumerate(done):
                alone_before = latest_exit is None or latest_exit <= enter
                alone_after = i + 1 == len(done) or exit_ <= done[i + 1][0]
                if alone_before and alone_after:
                    held.setdefault(language, []).append((exit_ - enter) / 1e9)
                latest_exit = exit_ if latest_exit is None else max(latest_exit, exit_)
    return {language: float(pd.Series(times).median()) for language, times in held.items()}


def number(value: object) -> float | None:
    """A measured number as a float, or ``None`` for nothing measured (None, NaN, NA)."""
    if value is None or value is pd.NA:
        return None
    try:
        found = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(found) else found
