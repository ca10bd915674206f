"""The bench's arithmetic on fixed records: floors, overhead, where a run's time went.

Nothing here runs or times anything; every number comes from the records below.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from harness import export
from harness.bench.runner import (
    PRECISION_SERVERS,
    TARGET_DELAY_S,
    BenchPlan,
    BenchResult,
    Scale,
    WholeRun,
    precision_args,
)
from harness.bench.timing import BatchTiming, batch_ideal_s, breakdown, ideal_s, overheads, request_split
from harness.core.catalog import CATALOG
from harness.core.records import Phase

D = 0.5


def batch(server: str, client: str, repeat: int, wall: float, outside: float, *, n: int = 5, d: float = D):
    return BatchTiming(server, client, repeat, n, d, wall, outside)


@pytest.mark.parametrize(
    ("server", "client", "n", "floor"),
    [
        ("go-nethttp", "go-goroutines", 5, 1),  # both concurrent
        ("go-nethttp", "httpx-sequential", 5, 5),  # the client sends one at a time
        ("gunicorn-default", "httpx-async", 5, 5),  # the server holds one at a time
        ("gunicorn-threads5", "httpx-threads", 5, 1),
        ("gunicorn-threads5", "httpx-threads", 12, 3),  # 5 threads: three waves
        ("fastapi-def", "go-goroutines", 100, 3),  # anyio's 40 threads
        ("not-in-catalog", "go-goroutines", 5, 1),  # unknown: no limit assumed
    ],
)
def test_batch_floor(server: str, client: str, n: int, floor: int) -> None:
    assert batch_ideal_s(batch(server, client, 1, 0, 0, n=n), CATALOG) == pytest.approx(floor * D)


def test_default_matrix_floor_is_216_s() -> None:
    """9 servers x 4 clients x (1 warm-up + 3) batches at D = 0.5 s, N = 5."""
    servers = [s.name for s in CATALOG.servers if s.default]
    batches = [batch(s, c.name, r, 0, 0) for s in servers for c in CATALOG.clients if c.default for r in range(4)]
    assert ideal_s(batches, CATALOG) == pytest.approx(216.0)
    assert ideal_s(batches, CATALOG, warmup=True) == pytest.approx(54.0)
    assert ideal_s(batches, CATALOG, warmup=False) == pytest.approx(162.0)


def test_overhead_is_median_over_counted_batches_and_servers() -> None:
    batches = [
        batch("go-nethttp", "go-goroutines", 0, 0.9, 1.2),  # warm-up: never counted
        batch("go-nethttp", "go-goroutines", 1, 0.505, 0.51),
        batch("go-nethttp", "go-goroutines", 2, 0.51, 0.52),
        batch("fastapi-async", "go-goroutines", 1, 0.52, 0.53),
        batch("go-nethttp", "httpx-sequential", 1, 2.55, 2.6),  # against 5 x D
    ]
    pooled = {o.client: o for o in overheads(batches, CATALOG)}
    assert pooled["go-goroutines"].inside == pytest.approx(0.02)
    assert pooled["go-goroutines"].outside == pytest.approx(0.04)
    assert pooled["go-goroutines"].batches == 3
    assert pooled["go-goroutines"].floor == "1 x D"
    assert pooled["httpx-sequential"].inside == pytest.approx(0.02)
    assert pooled["httpx-sequential"].floor == "5 x D"
    per_server = overheads(batches, CATALOG, per_server=True)
    assert [(o.server, o.batches) for o in per_server if o.client == "go-goroutines"] == [
        ("fastapi-async", 1),
        ("go-nethttp", 2),
    ]


def fixed_run() -> tuple[list[BatchTiming], list[Phase]]:
    """One server, two clients, one warm-up + one counted batch each, every phase known."""
    batches = [
        batch("go-nethttp", "go-goroutines", 0, 0.52, 0.60),  # client start: 0.08
        batch("go-nethttp", "go-goroutines", 1, 0.51, 0.515),
        batch("go-nethttp", "httpx-sequential", 0, 2.60, 3.00),  # client start: 0.40
        batch("go-nethttp", "httpx-sequential", 1, 2.55, 2.56),
    ]
    phases = [
        Phase("setup", -2.0, 0.0),
        Phase("server_start", 0.0, 0.2, "go-nethttp"),
        Phase("client", 0.2, 1.4, "go-nethttp", "go-goroutines"),  # 1.115 in lines, 0.085 stopping
        Phase("report", 1.4, 1.5),
        Phase("client", 1.5, 7.1, "go-nethttp", "httpx-sequential"),  # 5.56 in lines, 0.04 stopping
        Phase("report", 7.1, 7.2),
        Phase("server_stop", 7.2, 7.3, "go-nethttp"),
        Phase("report", 7.3, 7.4),
        Phase("run", 0.0, 7.5),
    ]
    return batches, phases


def test_breakdown_accounts_for_every_second() -> None:
    b = breakdown(*fixed_run(), CATALOG)
    assert b.measure_s == pytest.approx(7.5)
    assert b.ideal_counted_s == pytest.approx(0.5 + 2.5)
    assert b.ideal_warmup_s == pytest.approx(0.5 + 2.5)
    assert b.counted_excess_s == pytest.approx(0.01 + 0.05)
    assert b.warmup_excess_s == pytest.approx(0.02 + 0.10)
    assert b.client_start_s == pytest.approx(0.08 + 0.40)
    assert b.between_batches_s == pytest.approx(0.005 + 0.01)
    assert b.client_stop_s == pytest.approx(0.085 + 0.04)
    assert b.server_start_s == pytest.approx(0.2)
    assert b.server_stop_s == pytest.approx(0.1)
    assert b.report_s == pytest.approx(0.3)
    assert b.other_s == pytest.approx(7.5 - 7.4)  # the gaps between phases
    assert sum(s for _, s in b.parts()) + b.other_s == pytest.approx(b.measure_s)
    assert b.efficiency == pytest.approx(6.0 / 7.5)


def test_measure_without_a_run_phase_ends_with_the_last_phase() -> None:
    batches, phases = fixed_run()
    assert breakdown(batches, phases[:-1], CATALOG).measure_s == pytest.approx(7.4)


def test_request_split() -> None:
    ms = 1_000_000
    rows = [
        # name, warmup, sent, enter, exit, recv (ms)
        ("A", False, 0, 1, 501, 502),
        ("B", False, 1, 4, 505, 507),
        ("C", False, 2, 3, 503, 504),
        ("A", True, 0, 50, 550, 600),  # the warm-up is left out
    ]
    columns = ["name", "warmup", "sent_ns", "enter_ns", "exit_ns", "recv_ns"]
    frame = pd.DataFrame([(n, w, *(t * ms for t in times)) for n, w, *times in rows], columns=columns)
    frame = frame.assign(server="s", client="c", repeat=(~frame["warmup"]).astype(int), error=None, delay_s=0.5)
    split = request_split(frame)
    assert len(split) == 1
    row = split.iloc[0]
    assert row["to_last_enter_s"] == pytest.approx(0.004)
    assert row["hold_excess_s"] == pytest.approx(0.001)
    assert row["after_last_exit_s"] == pytest.approx(0.002)


def fixed_bench(tmp_path: Path) -> BenchResult:
    batches, phases = fixed_run()
    env = {"date": "2026-11-25T08:00:00+00:00", "cpu_count": 2, "cpu_model": "CPU", "python": "CPython 3.11.7",
           "go": "go1.27.3", "load_average": [0.5, 0.4, 0.3], "load_average_end": [0.6, 0.5, 0.4]}  # fmt: skip
    precision = [
        batch(server, client, r, wall, wall)
        for server in ("go-nethttp", "fastapi-async")
        for client, wall in (("go-goroutines", 0.204), ("httpx-async", 0.21), ("httpx-threads", 0.21))
        for r in range(2)
    ]
    precision = [BatchTiming(b.server, b.client, b.repeat, 5, 0.2, b.wall_s, b.outside_s) for b in precision]
    split = breakdown(batches, phases, CATALOG)
    request_times = {"to_last_enter_s": 0.006, "hold_excess_s": 0.001, "after_last_exit_s": 0.002}
    return BenchResult(
        plan=BenchPlan(out_dir=tmp_path, delays=(0.2,)),
        environment=env,
        overhead=overheads(precision, CATALOG),
        overhead_by_server=overheads(precision, CATALOG, per_server=True),
        split=[{"client": "httpx-async", "delay_s": 0.2, **request_times}],
        efficiency=split,
        efficiency_source="the warm run",
        whole=[WholeRun("warm", 15.0, 0, split.ideal_s, 0.5, split.measure_s, split)],
        scale=Scale(1000, 1.0, (1.1, 1.2, 1.15), 1.3, (1000, 1000, 1000), request_times),
        bench_s=60.0,
    )


def test_targets_are_checked_against_the_figures(tmp_path: Path) -> None:
    targets = {t.what.split(" (")[0]: t for t in fixed_bench(tmp_path).targets()}
    assert targets["overhead of `go-goroutines` at D = 0.2 s"].met is True  # +2 %
    assert targets["overhead of `httpx-async` at D = 0.2 s"].met is False  # +5 % > 3 %
    assert targets["overhead of `httpx-threads` at D = 0.2 s"].met is True  # +5 % <= 8 %
    assert "6.0 ms from the first send" in targets["overhead of `httpx-async` at D = 0.2 s"].held_back_by
    assert targets["efficiency of the default matrix"].met is False  # 6.0 / 7.5 = 0.8
    assert targets["warm `nox -s compare` wall time"].met is True  # 15 s <= 1.3 x 6 + 10
    assert targets["`go-goroutines` against `go-nethttp` at N = 1000"].met is True  # 1.15 x D


def test_bench_files(tmp_path: Path) -> None:
    paths = export.write("bench", fixed_bench(tmp_path), tmp_path)
    assert sorted(p.name for p in paths) == ["bench.json", "bench.md"]
    data = json.loads((tmp_path / "bench.json").read_text())
    for key in ("overhead", "efficiency", "ideal_s", "measure_s", "cold_s", "warm_s", "n1000_ratio", "environment"):
        assert key in data
    assert {"client", "delay_s", "inside", "outside"} <= set(data["overhead"][0])
    assert data["efficiency"] == pytest.approx(0.8)
    assert data["cold_s"] is None  # not measured is null, never invented
    md = (tmp_path / "bench.md").read_text()
    for heading in ("## Targets", "## 1. Precision", "## 2. Efficiency", "## 3. Whole runs", "## 4. Scale"):
        assert heading in md
    row = next(line for line in md.splitlines() if line.startswith("| httpx-async "))
    assert [cell.strip() for cell in row.split("|")[1:-1]] == ["httpx-async", "1 x D", "+5.0 %", "+5.0 %"]


NEW_CLIENTS = ("requests-threads", "aiohttp-async", "httpx2-async")


def test_the_precision_part_measures_every_client_beside_httpx_async(tmp_path: Path) -> None:
    args = precision_args(BenchPlan(out_dir=tmp_path), TARGET_DELAY_S)
    assert args[args.index("--client-impls") + 1] == "all" and args[args.index("--delay") + 1] == "0.2"
    assert {"httpx-async", *NEW_CLIENTS} <= set(CATALOG.clients_by_name)  # what "all" takes
    clients = ("httpx-async", *NEW_CLIENTS)
    batches = [BatchTiming(s, c, r, 5, 0.2, 0.21, 0.22) for s in PRECISION_SERVERS for c in clients for r in range(2)]
    result = dataclasses.replace(fixed_bench(tmp_path), overhead=overheads(batches, CATALOG),
                                 overhead_by_server=overheads(batches, CATALOG, per_server=True))  # fmt: skip
    paths = export.write("bench", result, tmp_path)
    md = next(p for p in paths if p.suffix == ".md").read_text()
    for client in clients:
        row = next(line for line in md.splitlines() if line.startswith(f"| {client} "))
        assert [cell.strip() for cell in row.split("|")[1:4]] == [client, "1 x D", "+5.0 %"], client
