"""The harness's own time, derived from a run's records (the numbers ``bench`` reports).

A batch cannot finish before its floor: D for every wave of requests that the
server and the client can hold at once (``batch_ideal_s``): 1 x D for a concurrent
pair, N x D when either side takes one request at a time. What a batch takes above
its floor is overhead, timed inside the client (``wall_s``, like the article's
``!! main took``) or by the harness (``outside_s``). What a run takes beyond its
batches is in its ``Phase`` records: servers starting and stopping, client
processes starting and stopping, reports being written (``breakdown``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from harness.core.catalog import Catalog
from harness.core.records import Phase


@dataclass(frozen=True)
class BatchTiming:
    """One batch's timings: a row of ``report.json``'s ``batches``, without the requests."""

    server: str
    client: str
    repeat: int
    clients: int
    delay_s: float
    wall_s: float
    outside_s: float

    @property
    def warmup(self) -> bool:
        return self.repeat == 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> BatchTiming:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


def requests_at_once(batch: BatchTiming, catalog: Catalog) -> int:
    """How many of the batch's requests the pair can hold at once (1 = serial)."""
    client = catalog.clients_by_name.get(batch.client)
    server = catalog.servers_by_name.get(batch.server)
    n = batch.clients if client is None or client.concurrent else 1
    if server is not None and server.capacity is not None:
        n = min(n, server.capacity)
    return max(n, 1)


def batch_ideal_s(batch: BatchTiming, catalog: Catalog) -> float:
    """The physical floor of a batch: D per wave, ceil(N / at once) waves."""
    return batch.delay_s * math.ceil(batch.clients / requests_at_once(batch, catalog))


def ideal_s(batches: Iterable[BatchTiming], catalog: Catalog, *, warmup: bool | None = None) -> float:
    """The sum of the floors of the batches (only warm-ups or only counted ones if asked)."""
    return sum(batch_ideal_s(b, catalog) for b in batches if warmup is None or b.warmup == warmup)


@dataclass(frozen=True)
class Overhead:
    """Median batch time over its floor, minus 1, for one client at one D."""

    client: str
    delay_s: float
    inside: float
    """Timed inside the client, as the article's ``!! main took``."""
    outside: float
    """Timed by the harness, from the previous batch line to this one."""
    batches: int
    floor: str
    """The floor the ratio is taken against: ``1 x D`` or ``N x D``."""
    server: str = ""
    """Empty when pooled over every server of the precision runs."""


def overheads(batches: Iterable[BatchTiming], catalog: Catalog, *, per_server: bool = False) -> list[Overhead]:
    """Overhead of the counted batches per client and D (and server, if asked)."""
    groups: dict[tuple[str, float, str], list[BatchTiming]] = {}
    for b in batches:
        if not b.warmup:
            groups.setdefault((b.client, b.delay_s, b.server if per_server else ""), []).append(b)
    rows = []
    for (client, delay, server), group in groups.items():
        ideals = [batch_ideal_s(b, catalog) for b in group]
        waves = {round(i / b.delay_s) for i, b in zip(ideals, group, strict=True)}
        rows.append(
            Overhead(
                client=client,
                delay_s=delay,
                inside=statistics.median(b.wall_s / i for b, i in zip(group, ideals, strict=True)) - 1,
                outside=statistics.median(b.outside_s / i for b, i in zip(group, ideals, strict=True)) - 1,
                batches=len(group),
                floor=" or ".join(f"{w} x D" for w in sorted(waves)),
                server=server,
            )
        )
    return sorted(rows, key=lambda o: (o.delay_s, list(catalog.clients_by_name).index(o.client)
                                       if o.client in catalog.clients_by_name else 99, o.client, o.server))  # fmt: skip


@dataclass(frozen=True)
class Breakdown:
    """Where a run's measurement time went, in seconds; ``other`` is what no record covers."""

    measure_s: float
    ideal_counted_s: float
    ideal_warmup_s: float
    counted_excess_s: float
    """Counted batches above their floor, timed inside the clients."""
    warmup_excess_s: float
    client_start_s: float
    """Client process start until its first batch line, minus that batch's own time."""
    between_batches_s: float
    """Later batch lines: harness-timed gap minus the batch's in-client time."""
    client_stop_s: float
    """Last batch line until the client process is gone."""
    server_start_s: float
    server_stop_s: float
    report_s: float

    @property
    def ideal_s(self) -> float:
        return self.ideal_counted_s + self.ideal_warmup_s

    @property
    def efficiency(self) -> float:
        """The issue's figure: the floor of every batch run (warm-ups too) / measurement time."""
        return self.ideal_s / self.measure_s if self.measure_s > 0 else float("nan")

    @property
    def other_s(self) -> float:
        return self.measure_s - sum(seconds for _, seconds in self.parts())

    def parts(self) -> list[tuple[str, float]]:
        """Labelled parts that add up to ``measure_s`` with ``other_s``."""
        return [
            ("counted batches at their floor (ideal)", self.ideal_counted_s),
            ("warm-up batches at their floor (ideal)", self.ideal_warmup_s),
            ("counted batches above their floor", self.counted_excess_s),
            ("warm-up batches above their floor", self.warmup_excess_s),
            ("client process start to first batch", self.client_start_s),
            ("between batches (line out, next batch in)", self.between_batches_s),
            ("client process stop", self.client_stop_s),
            ("server start and readiness", self.server_start_s),
            ("server stop", self.server_stop_s),
            ("report writing", self.report_s),
        ]

    def to_dict(self) -> dict[str, float]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update(ideal_s=self.ideal_s, efficiency=self.efficiency, other_s=self.other_s)
        return data


def measure_s(phases: Iterable[Phase]) -> float:
    """The measurement's wall time: its ``run`` phase, else the end of the last phase."""
    phases = list(phases)
    run = [p.duration_s for p in phases if p.kind == "run"]
    return run[-1] if run else max((p.end_s for p in phases), default=0.0)


def breakdown(batches: Iterable[BatchTiming], phases: Iterable[Phase], catalog: Catalog) -> Breakdown:
    """Split a run's measurement time into batch floors, batch excess and phases."""
    batches, phases = list(batches), list(phases)
    by_pairing: dict[tuple[str, str], list[BatchTiming]] = {}
    for b in batches:
        by_pairing.setdefault((b.server, b.client), []).append(b)
    client_stop = 0.0
    for p in phases:
        if p.kind == "client":
            seen = by_pairing.get((p.server, p.client), [])
            client_stop += p.duration_s - sum(b.outside_s for b in seen)

    def excess(warmup: bool) -> float:
        return sum(b.wall_s - batch_ideal_s(b, catalog) for b in batches if b.warmup == warmup)

    run_end = max((p.end_s for p in phases if p.kind == "run"), default=float("inf"))

    def phase_s(kind: str) -> float:
        """Time in phases of this kind inside the measurement (the pictures drawn after it are not)."""
        return sum(p.duration_s for p in phases if p.kind == kind and p.end_s <= run_end + 1e-6)

    return Breakdown(
        measure_s=measure_s(phases),
        ideal_counted_s=ideal_s(batches, catalog, warmup=False),
        ideal_warmup_s=ideal_s(batches, catalog, warmup=True),
        counted_excess_s=excess(False),
        warmup_excess_s=excess(True),
        client_start_s=sum(b.outside_s - b.wall_s for b in batches if b.warmup),
        between_batches_s=sum(b.outside_s - b.wall_s for b in batches if not b.warmup),
        client_stop_s=client_stop,
        server_start_s=phase_s("server_start"),
        server_stop_s=phase_s("server_stop"),
        report_s=phase_s("report"),
    )


SPLIT_COLUMNS = ["server", "client", "delay_s", "repeat", "to_last_enter_s", "hold_excess_s", "after_last_exit_s"]


def request_split(requests: pd.DataFrame) -> pd.DataFrame:
    """Per batch, where its time above D went, from the requests' own timestamps.

    ``to_last_enter_s``: first request sent until the last one entered its handler
    (the client sending, the server accepting); ``hold_excess_s``: the longest
    handler hold beyond D; ``after_last_exit_s``: the last handler exit until the
    last response was read. All on the one clock every process shares. Takes the
    rows of ``requests.csv`` plus a ``delay_s`` column; warm-ups are left out.
    """
    counted = requests[~requests["warmup"].astype(bool)] if "warmup" in requests else requests
    ok = counted[(counted["error"].fillna("") == "") & counted["enter_ns"].notna()]
    if ok.empty:
        return pd.DataFrame(columns=SPLIT_COLUMNS)
    ok = ok.assign(hold_ns=ok["exit_ns"] - ok["enter_ns"])
    keys = ["server", "client", "delay_s", "repeat"]
    g = ok.groupby(keys)
    frame = pd.DataFrame(
        {
            "to_last_enter_s": (g["enter_ns"].max() - g["sent_ns"].min()) / 1e9,
            "hold_excess_s": g["hold_ns"].max() / 1e9,
            "after_last_exit_s": (g["recv_ns"].max() - g["exit_ns"].max()) / 1e9,
        }
    ).reset_index()
    frame["hold_excess_s"] = frame["hold_excess_s"] - frame["delay_s"]
    return frame[SPLIT_COLUMNS]
