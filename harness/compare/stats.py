"""Summaries of a run, derived from its raw records with pandas.

``batch_frame`` has one row per batch (warm-ups included, flagged) with the
batch's ratio and its server-side evidence; ``pairing_frame`` has one row per
server x client pairing, measured or not. Nothing here is stored twice: the report
recomputes both from the records every time it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from harness.core.evidence import evidence, new_connections
from harness.core.records import BatchRecord, Pairing, RequestRecord

SAMPLED_COLUMNS = ["sampled_processes", "sampled_threads", "sampled_parallelism"]
"""From ``--server-pid`` (``core.pidtree``): the server's process tree, sampled, not stamped by handlers."""

CLIENT_LIMITED_BUSY = 0.5
"""A batch whose client process was on a CPU for more than half its wall time is
*client-limited*: the client, not the server, may have set its time."""

ACK_DELAY_S = (0.030, 0.060)
"""The Nagle / delayed-ACK signature: a request answered this long after its handler
returned. Linux holds an ACK back for at least 40 ms (``TCP_DELACK_MIN``) on a
connection out of its quick-ACK start; a server that writes a response in two sends
without ``TCP_NODELAY`` has the second wait for that ACK (Nagle's algorithm). On a
waiting handler the gap is otherwise a millisecond or two."""
ACK_DELAY_MIN_REQUESTS = 2
"""A cell carries the signature when at least this many of its counted requests show it."""
STEAL_MAX_SHARE = 0.05
"""With CPU work, a batch during which the host stole more than 5 % of the machine's
CPU time (``steal`` in ``/proc/stat``) is *stolen*: its handlers ran slower by about
that much, unseen by their own CPU times. It is kept in the records and left out of
every figure and verdict. A waiting handler needs no CPU while it waits, so steal is
only shown there."""

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
    "rejected",
    "served",
    "rejected_late",
    "served_fast",
    "latency_median_s",
    "held_median_s",
    "connections",
    "protocol",
    "new_connections",
    "server_closed",
    "server_cpu_s",
    "parallelism",
    "client_cpu_s",
    "client_busy",
    "client_limited",
    "dispatch_s",
    "send_spread_s",
    "other_load",
    "steal_share",
    "stolen",
    *SAMPLED_COLUMNS,
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
    "rejected",
    "served_min",
    "served_max",
    "rejected_late",
    "served_fast",
    "warmup_failed_requests",
    "latency_median_s",
    "latency_p50_s",
    "latency_p90_s",
    "latency_p99_s",
    "latency_max_s",
    "requests_per_s",
    "held_ratio_median",
    "outside_ratio_median",
    "connections",
    "protocol",
    "new_connections",
    "server_closed",
    "parallelism",
    "client_busy",
    "client_limited",
    "dispatch_s",
    "send_spread_s",
    "other_load",
    "answer_gap_s",
    "ack_checked",
    "ack_delayed",
    "ack_delay_s",
    "steal_share",
    "stolen_batches",
    "calls_median",
    *SAMPLED_COLUMNS,
]


def _median_low(values: pd.Series) -> int | float:
    """The lower median as an int; NaN when nothing was measured (a target without evidence)."""
    ordered = values.dropna().sort_values().reset_index(drop=True)
    return int(ordered.iloc[(len(ordered) - 1) // 2]) if len(ordered) else float("nan")


def batch_frame(pairings: Iterable[Pairing]) -> pd.DataFrame:
    rows = []
    for pairing in pairings:
        fresh = new_connections(b.requests for b in pairing.batches)
        for b, new in zip(pairing.batches, fresh, strict=True):
            ev = evidence(b.requests)
            # a --target may give no evidence: then its counts are unknown, not 0
            seen = ev.processes > 0 or not any(r.ok for r in b.requests)
            latencies = [r.latency_s for r in b.requests if r.ok]
            held = [(r.exit_ns - r.enter_ns) / 1e9 for r in b.requests if r.ok and r.enter_ns and r.exit_ns]
            busy = b.client_cpu_s / b.wall_s if b.client_cpu_s is not None and b.wall_s > 0 else None
            parallelism = ev.server_cpu_s / b.wall_s if ev.server_cpu_s is not None and b.wall_s > 0 else None
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
                    "max_in_flight": ev.max_in_flight if seen else None,
                    "processes": ev.processes if seen else None,
                    "threads": ev.threads if seen else None,
                    "failed": len(b.failed),
                    "rejected": len(b.rejected),
                    **turned_away(b),
                    "latency_median_s": pd.Series(latencies).median() if latencies else float("nan"),
                    "held_median_s": pd.Series(held).median() if held else float("nan"),
                    "connections": b.connections,
                    "protocol": protocol(b.requests),
                    "new_connections": new,
                    "server_closed": sum(r.server_closed for r in b.requests),
                    "server_cpu_s": ev.server_cpu_s,
                    "parallelism": parallelism,
                    "client_cpu_s": b.client_cpu_s,
                    "client_busy": busy,
                    "client_limited": busy is not None and busy > CLIENT_LIMITED_BUSY,
                    "dispatch_s": ev.dispatch_s if b.shared_clock else None,  # send vs enter: one clock only
                    "send_spread_s": ev.send_spread_s,
                    "other_load": other_load(b.machine_busy_cores, parallelism, busy),
                    "steal_share": b.machine_steal_share,
                    "stolen": stolen(b),
                    **sampled(b),
                }
            )
    frame = pd.DataFrame(rows, columns=BATCH_COLUMNS)
    numeric = ("max_in_flight", "processes", "threads", "new_connections", "server_cpu_s", "parallelism",
               "client_cpu_s", "client_busy", "dispatch_s", "send_spread_s", "other_load", "steal_share",
               *SAMPLED_COLUMNS)  # fmt: skip
    for col in numeric:
        frame[col] = pd.to_numeric(frame[col])
    return frame


REJECT_AT_ONCE_D = 0.5
"""A rejection is *at once* when it reached the client within 0.5 x D of its own send
(with no stagger, of the batch's start); a served request *waited its D* when it took at
least 0.5 x D. A server that rejects instead of queueing shows both: k served in about D,
the rest turned away at once. (Its own send, not the batch's first: a catalog entry may
stagger a batch's sends, ``ServerSpec.client_stagger_s``.)"""


def turned_away(batch: BatchRecord) -> dict[str, int]:
    """How a batch split between served and rejected requests: ``served`` (answered 2xx-like),
    ``rejected_late`` (rejected more than ``REJECT_AT_ONCE_D`` x D after it was sent:
    queued first) and ``served_fast`` (served in under that: no handler waited D)."""
    limit_ns = REJECT_AT_ONCE_D * batch.delay_s * 1e9
    served = [r for r in batch.requests if r.ok and not r.rejected]
    return {
        "served": len(served),
        "rejected_late": sum(r.recv_ns - r.sent_ns > limit_ns for r in batch.rejected),
        "served_fast": sum(r.recv_ns - r.sent_ns < limit_ns for r in served),
    }


def protocol(requests: Iterable[RequestRecord]) -> str | None:
    """What the server answered a batch with (``HTTP/1.1``, ``HTTP/2``, both joined by ``+``
    when it changed within the batch); ``None`` when the client did not say."""
    found = sorted({r.http_version for r in requests if r.http_version})
    return "+".join(found) or None


def stolen(batch: BatchRecord) -> bool:
    """Whether the host stole so much CPU during this batch that it is left out (``STEAL_MAX_SHARE``)."""
    share = batch.machine_steal_share
    return batch.work == "cpu" and share is not None and share > STEAL_MAX_SHARE


def usable(pairing: Pairing) -> list[BatchRecord]:
    """The counted batches the figures and verdicts rest on: not the warm-up, not stolen."""
    return [b for b in pairing.counted if not stolen(b)]


def sampled(batch: BatchRecord) -> dict[str, float | None]:
    """The ``--server-pid`` columns of one batch (``None`` without sampling)."""
    tree = batch.server_tree or {}
    return {
        "sampled_processes": tree.get("processes"),
        "sampled_threads": tree.get("threads"),
        "sampled_parallelism": tree.get("parallelism"),
    }


def pairing_frame(
    pairings: Iterable[Pairing], batches: pd.DataFrame, *, delay_s: float, clients: int, work: str
) -> pd.DataFrame:
    """One row per pairing, from its usable batches; unmeasured numbers are NaN (never invented)."""
    counted = batches[~batches["warmup"]] if len(batches) else batches
    excluded = counted[counted["stolen"]].groupby(["server", "client"]).size().to_dict() if len(counted) else {}
    counted = counted[~counted["stolen"]] if len(counted) else counted
    groups = dict(iter(counted.groupby(["server", "client"]))) if len(counted) else {}
    warmups = batches[batches["warmup"]] if len(batches) else batches
    warmup_failed = warmups.groupby(["server", "client"])["failed"].sum().to_dict() if len(warmups) else {}
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
            "warmup_failed_requests": int(warmup_failed.get((p.server, p.client), 0)),
            "stolen_batches": int(excluded.get((p.server, p.client), 0)),
        }
        g = groups.get((p.server, p.client))
        row.update(latency_summary(usable(p)))
        if work == "wait":
            row.update(ack_delays(usable(p)))
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
                    "rejected": int(g["rejected"].sum()),
                    "served_min": int(g["served"].min()),
                    "served_max": int(g["served"].max()),
                    "rejected_late": int(g["rejected_late"].sum()),
                    "served_fast": int(g["served_fast"].sum()),
                    "latency_median_s": g["latency_median_s"].median(),
                    "held_ratio_median": (g["held_median_s"] / g["delay_s"]).median(),
                    "outside_ratio_median": (g["outside_s"] / g["delay_s"]).median(),
                    "connections": g["connections"].iloc[0],
                    "protocol": "+".join(sorted({p for v in g["protocol"].dropna() for p in v.split("+")})) or None,
                    "new_connections": g["new_connections"].median(),
                    # the server ended connections the client meant to keep (under `fresh`
                    # servers echo the client's own `Connection: close`)
                    "server_closed": bool(g["server_closed"].sum()) and g["connections"].iloc[0] == "reuse",
                    "parallelism": g["parallelism"].median(),
                    "client_busy": g["client_busy"].median(),
                    "client_limited": bool(g["client_busy"].median() > CLIENT_LIMITED_BUSY),
                    "dispatch_s": g["dispatch_s"].median(),
                    "send_spread_s": g["send_spread_s"].median(),
                    "other_load": g["other_load"].median(),
                    "steal_share": g["steal_share"].median(),
                    "sampled_processes": _median_low(g["sampled_processes"]),
                    "sampled_threads": _median_low(g["sampled_threads"]),
                    "sampled_parallelism": g["sampled_parallelism"].median(),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=PAIRING_COLUMNS)


def other_load(machine_cores: float | None, server: float | None, client: float | None) -> float | None:
    """Cores the rest of the machine used while the batch ran: the machine's busy cores
    less the server's and the client's own (never below 0; the readings' windows differ
    by the gaps between batches)."""
    if machine_cores is None or server is None:
        return None
    return max(0.0, machine_cores - server - (client or 0.0))


def ack_delays(batches: Iterable[BatchRecord]) -> dict[str, float | int]:
    """How long answers took to reach the client after their handler returned, on connections
    the client kept open (one clock only): the median gap, and how many requests (and their
    median gap) show the Nagle / delayed-ACK signature (``ACK_DELAY_S``)."""
    gaps = [
        (r.recv_ns - r.exit_ns) / 1e9
        for b in batches
        if b.connections == "reuse" and b.shared_clock
        for r in b.requests
        if r.ok and r.exit_ns is not None and not r.server_closed
    ]
    if not gaps:
        return {}
    hits = [g for g in gaps if ACK_DELAY_S[0] <= g <= ACK_DELAY_S[1]]
    return {
        "answer_gap_s": float(pd.Series(gaps).median()),
        "ack_checked": len(gaps),
        "ack_delayed": len(hits),
        "ack_delay_s": float(pd.Series(hits).median()) if hits else float("nan"),
    }


def nagle(row: pd.Series | Mapping[str, Any]) -> bool:
    """Whether a pairing row carries the Nagle / delayed-ACK signature."""
    found = row.get("ack_delayed")
    return isinstance(found, int | float) and not pd.isna(found) and found >= ACK_DELAY_MIN_REQUESTS


def latency_summary(batches: Iterable[BatchRecord]) -> dict[str, float]:
    """Client-side latency percentiles over every answered request of the counted
    batches, and requests per second of batch wall time (answered / summed wall)."""
    batches = list(batches)
    latencies = pd.Series([r.latency_s for b in batches for r in b.requests if r.ok], dtype=float)
    wall = sum(b.wall_s for b in batches)
    if latencies.empty or wall <= 0:
        return {}
    return {
        "latency_p50_s": float(latencies.quantile(0.5)),
        "latency_p90_s": float(latencies.quantile(0.9)),
        "latency_p99_s": float(latencies.quantile(0.99)),
        "latency_max_s": latencies.max(),
        "requests_per_s": len(latencies) / wall,
    }


def solo_calls(pairings: Iterable[Pairing]) -> dict[str, list[float]]:
    """Per server, the handler times of the counted requests that ran alone: nothing
    else of their batch was in flight on the server. That is one call as this run
    measured it on that server, which is what its CPU-work ratios are read against
    (this machine's speed moves by half from one process or moment to the next)."""
    held: dict[str, list[float]] = {}
    for pairing in pairings:
        for batch in usable(pairing):
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
                    held.setdefault(pairing.server, []).append((exit_ - enter) / 1e9)
                latest_exit = exit_ if latest_exit is None else max(latest_exit, exit_)
    return held


def solo_call_s(
    pairings: Iterable[Pairing], language_of: Callable[[str], str]
) -> tuple[dict[str, float], dict[str, float]]:
    """One call, as this run measured it: the median of ``solo_calls`` per server, and
    pooled per language ("python", "go") for servers that never ran a request alone."""
    by_server = solo_calls(pairings)
    pooled: dict[str, list[float]] = {}
    for server, times in by_server.items():
        pooled.setdefault(language_of(server), []).extend(times)

    def median(times: list[float]) -> float:
        return float(pd.Series(times).median())

    return {s: median(t) for s, t in by_server.items()}, {k: median(t) for k, t in pooled.items()}
