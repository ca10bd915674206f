"""CPU work measured against the machine: the host's steal per batch, stolen batches
kept in the records and out of the figures and verdicts, cells in calls."""

from __future__ import annotations

import json
from collections import namedtuple
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.compare import report
from harness.compare.json import JsonExporter
from harness.compare.markdown import MarkdownExporter, ratio_cell
from harness.compare.results import RunResults
from harness.compare.stats import STEAL_MAX_SHARE, batch_frame, pairing_frame, solo_calls
from harness.core import serving
from harness.core.records import BatchRecord, Pairing
from tests.helpers import ENV, batch, concurrent_requests, serial_requests

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def test_the_machine_window_reads_busy_cores_and_the_hosts_steal(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter(
        [
            Times(100, 0, 50, 800, 10, 0, 0, 5, 0, 0),
            # one second later on 2 CPUs: 0.6 s user (0.2 of it a guest's), 0.2 s system, 0.1 s stolen, 1.1 s idle
            Times(100.6, 0, 50.2, 801.1, 10, 0, 0, 5.1, 0.2, 0),
        ]
    )
    clock = iter([10.0, 11.0])
    monkeypatch.setattr(serving.psutil, "cpu_times", lambda: next(readings))
    monkeypatch.setattr(serving.time, "perf_counter", lambda: next(clock))
    window = serving.MachineCpu().since_last()
    assert window is not None
    assert window.busy_cores == pytest.approx(0.9)  # user + system + steal, guest counted once (in user)
    assert window.steal_share == pytest.approx(0.1 / 2.0)  # of the machine's 2 CPU seconds


def test_no_time_passed_is_no_window(monkeypatch: pytest.MonkeyPatch) -> None:
    same = Times(1, 0, 1, 1, 0, 0, 0, 0, 0, 0)
    monkeypatch.setattr(serving.psutil, "cpu_times", lambda: same)
    monkeypatch.setattr(serving.time, "perf_counter", lambda: 5.0)
    assert serving.MachineCpu().since_last() is None


def stolen_at(b: BatchRecord, share: float | None, work: str = "cpu") -> BatchRecord:
    return replace(b, work=work, machine_steal_share=share)


def pairing_with_a_stolen_batch(work: str = "cpu") -> Pairing:
    """Warm-up, one clean parallel batch, one batch the host stole from (serial-looking, 9x)."""
    batches = [
        stolen_at(batch("go-nethttp", "go-goroutines", 0, 3.0, concurrent_requests()), 0.0, work),
        stolen_at(batch("go-nethttp", "go-goroutines", 1, 2.6, concurrent_requests()), 0.01, work),
        stolen_at(batch("go-nethttp", "go-goroutines", 2, 9.0, serial_requests()), 0.30, work),
    ]
    return Pairing("go-nethttp", "go-goroutines", "ok", "", batches)


def test_a_stolen_batch_is_marked_and_left_out_of_the_pairing() -> None:
    pairing = pairing_with_a_stolen_batch()
    frame = batch_frame([pairing])
    assert list(frame["stolen"]) == [False, False, True] and frame["steal_share"].iloc[2] == pytest.approx(0.3)
    row = pairing_frame([pairing], frame, delay_s=0.2, clients=5, work="cpu").iloc[0]
    assert (row["repeats"], row["stolen_batches"]) == (1, 1)
    assert (row["ratio_median"], row["max_in_flight"]) == (pytest.approx(2.6), 5)  # not 5.8x, not 1 in flight
    assert row["latency_max_s"] < 0.3  # the stolen batch's latencies are out too


def test_steal_at_the_limit_is_kept_and_a_waiting_run_keeps_every_batch() -> None:
    at_limit = stolen_at(batch("s", "c", 1, 2.6, concurrent_requests()), STEAL_MAX_SHARE)
    unknown = stolen_at(batch("s", "c", 2, 2.6, concurrent_requests()), None)
    assert list(batch_frame([Pairing("s", "c", "ok", "", [at_limit, unknown])])["stolen"]) == [False, False]
    waiting = pairing_with_a_stolen_batch(work="wait")
    row = pairing_frame([waiting], batch_frame([waiting]), delay_s=0.2, clients=5, work="wait").iloc[0]
    assert (row["repeats"], row["stolen_batches"]) == (2, 0)  # waiting handlers need no CPU: steal only shown


def test_solo_calls_skip_stolen_batches() -> None:
    alone = stolen_at(batch("s", "c", 1, 5.0, serial_requests()), 0.0)
    slowed = stolen_at(batch("s", "c", 2, 8.0, serial_requests(d_ms=320)), 0.4)
    calls = solo_calls([Pairing("s", "c", "ok", "", [alone, slowed])])
    assert calls["s"] == pytest.approx([0.2] * 5)


def cpu_results(out: Path) -> RunResults:
    settings = {
        "command": "python -m harness compare --work cpu",
        "delay_s": 0.2,
        "clients": 5,
        "repeats": 2,
        "work": "cpu",
        "connections": "reuse",
        "calibration": {
            "delay_s": 0.2,
            "python_iterations": 1000,
            "python_call_s": 0.2,
            "go_iterations": 9000,
            "go_call_s": 0.25,
        },
        "servers": ["go-nethttp"],
        "client_impls": ["go-goroutines", "httpx-sequential"],
    }
    results = RunResults(out, settings, dict(ENV))
    results.plan("go-nethttp", "go-goroutines")
    results.plan("go-nethttp", "httpx-sequential")
    for b in pairing_with_a_stolen_batch().batches:
        results.add_batch(b)
    for repeat, ratio in enumerate([6.0, 5.5, 5.4]):  # one request after another: each ran alone, 0.22 s
        results.add_batch(
            stolen_at(batch("go-nethttp", "httpx-sequential", repeat, ratio, serial_requests(d_ms=220)), 0.0)
        )
    results.finish("go-nethttp", "go-goroutines", "ok")
    results.finish("go-nethttp", "httpx-sequential", "ok")
    results.complete = True
    return results


@pytest.fixture
def cpu_report(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    results = cpu_results(tmp_path)
    try:
        built = report.build(results)
        return MarkdownExporter().render(built), json.loads(JsonExporter().render(built))
    finally:
        results.close()


def test_the_cpu_matrix_shows_calls_beside_x_d(cpu_report: tuple[str, dict[str, Any]]) -> None:
    md, data = cpu_report
    seq = next(p for p in data["pairings"] if p["client"] == "httpx-sequential")
    # one call of go-nethttp in this run: its requests that ran alone, 0.22 s = 1.1 D
    assert seq["calls_median"] == pytest.approx(5.45 / 1.1)
    assert "| 5.45x (5.40-5.50) = 4.95 calls |" in md
    assert "2.60x = 2.36 calls" in md  # the clean batch alone
    assert "a multiple of that server's own call" in md


def test_the_report_says_how_many_batches_were_left_out_and_why(cpu_report: tuple[str, dict[str, Any]]) -> None:
    md, data = cpu_report
    assert "1 counted batch(es) were left out of the figures and verdicts" in md
    assert "go-nethttp x go-goroutines (1)" in md
    assert "| 1.0%, 30.0% (left out) |" in md  # steal per batch, in order
    kept = [b for b in data["batches"] if b["client"] == "go-goroutines" and not b["warmup"]]
    assert [(b["ratio"], b["stolen"]) for b in kept] == [(pytest.approx(2.6), False), (pytest.approx(9.0), True)]
    for claim in data["claims"]:  # the stolen 9x batch is in no verdict
        assert "9.00x" not in claim["measured"] and "5.80x" not in claim["measured"], claim


def test_the_readme_cpu_block_shows_calls_and_the_batches_left_out(
    cpu_report: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    from harness.compare import publish

    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "report.json").write_text(json.dumps(cpu_report[1]))
    block = publish.block_cpu(tmp_path)
    assert "2.60x = 2.36 calls: 5 in flight" in block
    assert "in calls (a multiple of that server's own solo call in the run)" in block
    assert "1 of 4 counted batches left out for steal above 5%; the host's steal per batch was at most 30.0%" in block


def test_a_pairing_whose_every_batch_was_stolen_says_so_not_failed() -> None:
    row = {"ratio_median": float("nan"), "status": "ok", "repeats": 1}
    assert ratio_cell(pd.Series({**row, "stolen_batches": 1})) == "stolen (every counted batch left out)"
    assert ratio_cell(pd.Series({**row, "stolen_batches": 0})) == "not measured"  # nothing stolen, nothing measured
