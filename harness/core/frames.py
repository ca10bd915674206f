"""The raw records as tables, and the number helper every report reads them with.

``request_frame`` is the per-request evidence (``requests.csv`` and
``sweep-requests.csv``); ``number`` reads a measured cell as a float or ``None``;
``Row`` is the type of one row handed to the functions that judge it.
Both compare and sweep use them, so they live here rather than in either feature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, SupportsFloat, SupportsIndex, TypeAlias

import pandas as pd

from harness.core.records import BatchRecord

# One row of a report table: a DataFrame row (``iterrows``, ``.iloc[i]``) or a plain
# mapping (tests, JSON). pandas-stubs' Series is not a Mapping, hence the union.
Row: TypeAlias = Mapping[str, Any] | pd.Series

REQUEST_COLUMNS = [
    "server", "client", "work", "clients", "repeat", "warmup", "name", "status", "error", "pid", "thread",
    "handler", "enter_ns", "exit_ns", "sent_ns", "recv_ns", "latency_s", "peer_port", "server_closed",
    "cpu_enter_ns", "cpu_exit_ns", "rejected", "gil_enabled",
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
            "peer_port": r.peer_port,
            "server_closed": r.server_closed,
            "cpu_enter_ns": r.cpu_enter_ns,
            "cpu_exit_ns": r.cpu_exit_ns,
            "rejected": r.rejected,
            "gil_enabled": r.gil_enabled,
        }
        for b in batches
        for r in b.requests
    ]
    frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    for col in ("pid", "enter_ns", "exit_ns", "peer_port", "cpu_enter_ns", "cpu_exit_ns"):
        frame[col] = frame[col].astype("Int64")
    return frame


def number(value: object) -> float | None:
    """A measured number as a float, or ``None`` for nothing measured (None, NaN, NA)."""
    if value is None or value is pd.NA:
        return None
    if not isinstance(value, str | bytes | bytearray | SupportsFloat | SupportsIndex):
        return None  # what float() would refuse with a TypeError
    try:
        found = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(found) else found
