"""Sweep exporters and pictures on a fixed sweep: fields, tables, and bars counted in the SVGs."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from harness import export
from harness.compare import report
from harness.compare import timelines as timeline_plots
from harness.compare.markdown import MarkdownExporter
from harness.core.timeline import lanes
from harness.sweep import plot as sweep_plots
from harness.sweep import report as sweep_report
from harness.sweep.runner import read_points
from tests.helpers import fixed_results
from tests.sweep_helpers import fixed_sweep

POINT_FIELDS = {
    "server",
    "client",
    "clients",
    "delay_s",
    "ratio",
    "predicted_ratio",
    "max_in_flight",
    "processes",
    "threads",
    "peak_rss_bytes",
    "peak_threads",
    "failed",
}


def svg_ids(path: Path, prefix: str) -> int:
    return len(re.findall(rf'id="{prefix}-', path.read_text()))


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[sweep_report.SweepReport, Path]:
    """The fixed sweep's report with its pictures, drawn once for the module."""
    out = tmp_path_factory.mktemp("sweep")
    rep = sweep_report.build(fixed_sweep(out))
    pictures = sweep_plots.sweep_pictures(rep, out_dir=out / "pictures", report_dir=out)
    return replace(rep, pictures=tuple(pictures)), out


def test_raw_file_reads_back_to_the_same_report(tmp_path: Path) -> None:
    rep = sweep_report.build(fixed_sweep(tmp_path))
    again = sweep_report.point_frame(read_points(tmp_path / "sweep-batches.jsonl"), rep.catalog)
    pd.testing.assert_frame_equal(rep.points, again)


def test_sweep_files(drawn: tuple[sweep_report.SweepReport, Path]) -> None:
    rep, tmp_path = drawn
    paths = export.write("sweep", rep, tmp_path)
    assert sorted(p.name for p in paths) == ["sweep-requests.csv", "sweep.csv", "sweep.json", "sweep.md"]

    data = json.loads((tmp_path / "sweep.json").read_text())
    assert data["schema"] == "concurrency-compare/sweep/1"
    assert data["status"] == "complete"
    assert all(set(p) >= POINT_FIELDS for p in data["points"])
    threads6 = next(p for p in data["points"] if p["server"] == "gunicorn-threads5" and p["clients"] == 6)
    assert (threads6["predicted_ratio"], threads6["max_in_flight"], threads6["failed"]) == (2.0, 5, 0)
    not_run = next(p for p in data["points"] if p["status"] == "not run")
    assert not_run["ratio"] is None and not_run["reason"] == "not run: exceeded the budget at N=10"  # never invented
    assert [(c["server"], c["declared"], c["measured"], c["verdict"]) for c in data["capacity"]] == [
        ("go-nethttp", None, 20, "consistent"),
        ("gunicorn-threads5", 5, 5, "consistent"),
        ("gunicorn-default", 1, 1, "consistent"),
    ]
    assert data["environment"]["cpu_count"] == 2

    md = (tmp_path / "sweep.md").read_text()
    assert "| `gunicorn-threads5` | 5            | 1 worker x 5 threads" in md
    assert "**consistent**" in md and "> **Partial report.**" not in md
    for p in rep.pictures:
        assert f"]({p.png})" in md and f"[SVG]({p.svg})" in md

    requests = pd.read_csv(tmp_path / "sweep-requests.csv")
    assert len(requests) == sum([1, 2, 5, 10, 20]) + sum([1, 2, 5, 6, 10, 20]) + sum([1, 2, 5, 10])
    assert len(pd.read_csv(tmp_path / "sweep.csv")) == 5 + 6 + 5


def test_sweep_pictures_count_their_marks(drawn: tuple[sweep_report.SweepReport, Path]) -> None:
    rep, tmp_path = drawn
    kinds = sorted((p.kind, p.key) for p in rep.pictures)
    assert kinds == sorted(
        [(k, g) for k in ("sweep", "resources") for g in ("unbounded", "bounded", "serial")]
        + [("timeline", s) for s in ("go-nethttp", "gunicorn-threads5", "gunicorn-default")]
    )
    measured = rep.points[rep.points["ratio"].notna()]
    for p in rep.pictures:
        assert (tmp_path / p.png).stat().st_size > 0
        svg = tmp_path / p.svg
        if p.kind == "timeline":
            shown = int(re.search(r"N = (\d+) at once", p.title).group(1))  # type: ignore[union-attr]
            assert svg_ids(svg, "request") == p.marks == shown
        else:
            servers = [s for s in rep.servers if s in p.title]
            assert svg_ids(svg, "point") == p.marks == int(measured["server"].isin(servers).sum())


def test_sweep_timeline_n() -> None:
    def seen(ns: list[int], first_miss: int = 10**9) -> list[tuple[int, bool]]:
        return [(n, n < first_miss) for n in ns]

    assert sweep_plots.timeline_n(5, seen([1, 2, 5, 6, 10, 20], first_miss=6)) == 10
    assert sweep_plots.timeline_n(40, seen([1, 10, 40, 41, 50], first_miss=41)) == 41
    assert sweep_plots.timeline_n(None, seen([1, 2, 5, 10, 20])) == 10
    assert sweep_plots.timeline_n(None, seen([1, 2, 5, 10, 20, 50], first_miss=20)) == 20  # where it stalls
    assert sweep_plots.timeline_n(None, seen([1, 10, 100, 1000], first_miss=1000)) == 10  # too many bars to draw
    assert sweep_plots.timeline_n(1, seen([1, 2, 5], first_miss=2)) == 5
    assert sweep_plots.timeline_n(1, []) is None


def test_overlapping_requests_of_one_worker_get_rows_of_their_own() -> None:
    from tests.sweep_helpers import waves

    reqs = pd.DataFrame([r.__dict__ for r in waves(7, 3)])  # 3 threads: 3, then 3, then 1
    layout = lanes(reqs)
    assert layout.rows == 3 and [n for _, _, n in layout.workers] == [1, 1, 1]
    loop = reqs.assign(thread="t0")  # the same requests on one event loop thread
    layout = lanes(loop)
    assert [n for _, _, n in layout.workers] == [3]  # at most 3 at once: 3 rows, reused by the next waves
    assert sorted(layout.row_of.values()) == [0, 0, 0, 1, 1, 2, 2]


def test_compare_timelines_one_bar_per_request(tmp_path: Path) -> None:
    results = fixed_results(tmp_path)
    results.close()
    rep = report.build(results)
    pictures = timeline_plots.timelines(rep, tmp_path)
    assert [p.key for p in pictures] == ["go-nethttp", "gunicorn-default"]
    counted = rep.requests[~rep.requests["warmup"]]
    for p in pictures:
        mine = counted[counted["server"] == p.key]
        one_batch = mine[mine["repeat"] == mine.groupby("client")["repeat"].transform("max")]
        assert svg_ids(tmp_path / p.svg, "request") == p.marks == len(one_batch)
    assert [p.marks for p in pictures] == [10, 5]  # gunicorn-default x httpx-sequential failed: no batch
    md = MarkdownExporter().render(replace(rep, pictures=tuple(pictures)))
    assert (
        "![go-nethttp: the median counted batch of each client (N = 5, D = 0.2 s)](pictures/timeline-go-nethttp.png)"
        in md
    )
