"""Exporters on a fixed result set: the tables a user pastes must not drift."""

import json
from pathlib import Path

import pandas as pd

from harness import export
from harness.compare import report
from harness.compare.markdown import MarkdownExporter, matrix
from harness.core.files import UMASK
from tests.helpers import fixed_results


def build(tmp_path: Path) -> report.Report:
    results = fixed_results(tmp_path)
    results.close()
    return report.build(results)


def test_matrix_snapshot(tmp_path: Path) -> None:
    assert matrix(build(tmp_path)).splitlines() == [
        "| server           | go-goroutines     | httpx-sequential   |",
        "|------------------|-------------------|--------------------|",
        "| go-nethttp       | 1.02x (1.01-1.03) | 5.03x (5.02-5.04)  |",
        "| gunicorn-default | 5.03x (5.02-5.04) | failed             |",
    ]


def test_write_all_formats(tmp_path: Path) -> None:
    rep = build(tmp_path)
    paths = export.write("compare", rep, tmp_path)
    assert sorted(p.name for p in paths) == ["report.json", "report.md", "requests.csv"]
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~UMASK for p in paths)  # as open() makes them, not 0600

    md = (tmp_path / "report.md").read_text()
    assert "> **Partial report.**" not in md  # failed pairings are shown, but the run completed
    assert "- `gunicorn-default` x `httpx-sequential`: httpx-sequential exited with status 1" in md
    assert "| C1   |" in md and "### gunicorn-default" in md
    assert "| D (hold per request)            | 0.2 s" in md

    data = json.loads((tmp_path / "report.json").read_text())
    assert data["schema"] == "concurrency-compare/report/1"
    first = data["pairings"][0]
    assert {
        "server",
        "client",
        "delay_s",
        "clients",
        "repeats",
        "ratio_median",
        "ratio_min",
        "ratio_max",
        "max_in_flight",
        "processes",
        "threads",
        "status",
    } <= set(first)
    assert (first["ratio_median"], first["ratio_min"], first["ratio_max"], first["repeats"]) == (1.02, 1.01, 1.03, 2)
    failed = next(p for p in data["pairings"] if p["status"] == "failed")
    assert failed["ratio_median"] is None  # never invented
    assert {c["id"] for c in data["claims"]} == {f"C{i}" for i in range(1, 12)}
    assert data["environment"]["cpu_count"] == 2

    csv = pd.read_csv(tmp_path / "requests.csv")
    assert len(csv) == 9 * 5  # warm-ups included, flagged
    assert csv["warmup"].sum() == 3 * 5


def test_partial_run_is_marked(tmp_path: Path) -> None:
    results = fixed_results(tmp_path)
    results.close()
    results.complete = False
    results.interrupted = "Ctrl-C"
    results.finish("gunicorn-default", "httpx-sequential", "not measured")
    rep = report.build(results)
    assert rep.status == "partial"
    md = MarkdownExporter().render(rep)
    assert (
        "> **Partial report.** The run was interrupted (Ctrl-C). Not measured: gunicorn-default x httpx-sequential."
        in md
    )
    assert "not measured" in matrix(rep)


def test_cpu_work_reports_say_the_handlers_compute() -> None:
    from harness.core.catalog import CATALOG
    from harness.core.claims import server_summary

    for spec in CATALOG.servers:
        text = server_summary(spec, "cpu")
        assert "sleep(D)" not in text and "computes" in text, text
    assert "asyncio.sleep(D)" in server_summary(CATALOG.servers_by_name["fastapi-async"], "wait")


def test_cpu_work_reports_label_the_capacity_as_waiting_and_say_what_computing_does() -> None:
    from harness.core.catalog import CATALOG
    from harness.core.claims import server_summary

    blocking = server_summary(CATALOG.servers_by_name["fastapi-async-blocking"], "cpu")
    assert "Capacity while waiting: 1 at once (time.sleep blocks" in blocking
    assert "Computing: a computing handler holds the event loop: one at a time." in blocking
    awaiting = server_summary(CATALOG.servers_by_name["fastapi-async"], "cpu")
    assert "Capacity while waiting: no limit (awaiting handlers share one event loop)" in awaiting
    assert "Computing: a computing handler holds the event loop" in awaiting
    threads = server_summary(CATALOG.servers_by_name["gunicorn-threads5"], "cpu")
    assert "Computing: its threads take turns on the GIL" in threads
    assert "Capacity: " in server_summary(CATALOG.servers_by_name["fastapi-async"], "wait")
