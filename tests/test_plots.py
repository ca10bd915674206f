"""Pictures drawn from fixed result sets: which batch a timeline shows, what its lanes and
tooltips say, and what the sweep charts draw (read from the figures' artists and the SVG)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D

from harness.compare import report
from harness.compare import timelines as timeline_plots
from harness.compare.results import RunResults
from harness.core import picture
from harness.core.timeline import lanes
from harness.sweep import plot as sweep_plots
from harness.sweep import report as sweep_report
from tests.helpers import ENV, batch, request
from tests.sweep_helpers import fixed_sweep


def titles(svg: str) -> dict[str, str]:
    """gid -> the text of the ``<title>`` its group opens with."""
    return dict(re.findall(r'<g id="([^"]+)">\s*<title>([^<]*)</title>', svg))


def spread(repeat: int, *, ms: float) -> tuple:
    """Five requests on five threads named after their batch, the last ending at ``ms``."""
    return tuple(
        request(chr(65 + i), enter_ms=i * (ms - 200) / 4, exit_ms=i * (ms - 200) / 4 + 200, thread=f"r{repeat}-{i}")
        for i in range(5)
    )


def three_batches(out: Path, ratios: list[float]) -> RunResults:
    """One pairing: a warm-up batch (repeat 0), then counted batches with these wall / D, in this order."""
    settings = {
        "command": "python -m harness compare",
        "delay_s": 0.2,
        "clients": 5,
        "repeats": len(ratios),
        "work": "wait",
        "servers": ["gunicorn-threads5"],
        "client_impls": ["httpx-async"],
        "duration_s": 3.0,
    }
    results = RunResults(out, settings, dict(ENV))
    results.plan("gunicorn-threads5", "httpx-async")
    for repeat, ratio in enumerate([1.0, *ratios]):
        results.add_batch(batch("gunicorn-threads5", "httpx-async", repeat, ratio, spread(repeat, ms=ratio * 200)))
    results.finish("gunicorn-threads5", "httpx-async", "ok")
    results.complete = True
    results.close()
    return results


def test_median_batch_odd_even_and_unmeasured() -> None:
    frame = pd.DataFrame({"repeat": [0, 1, 2], "ratio": [4.70, 4.57, 6.27]})
    shown, text = timeline_plots.median_batch(frame)
    assert shown["repeat"] == 0 and text == "median of 3 batches: 4.70x"
    shown, text = timeline_plots.median_batch(pd.DataFrame({"repeat": [0, 1, 2, 3], "ratio": [3.0, 1.0, 4.0, 2.0]}))
    assert shown["repeat"] == 3 and text == "lower middle of 4 batches: 2.00x (median 2.50x)"
    shown, text = timeline_plots.median_batch(pd.DataFrame({"repeat": [0, 1], "ratio": [float("nan"), 1.5]}))
    assert shown["repeat"] == 1 and text == "its one counted batch: 1.50x"


def test_timeline_draws_the_median_batch_not_the_last(tmp_path: Path) -> None:
    rep = report.build(three_batches(tmp_path, [4.70, 4.57, 6.27]))
    (picture,) = timeline_plots.timelines(rep, tmp_path)
    svg = (tmp_path / picture.svg).read_text()
    assert "median of 3 batches: 4.70x" in svg  # the matrix's median, in the panel title
    assert f"{rep.pairings['ratio_median'].iloc[0]:.2f}x" == "4.70x"
    tips = titles(svg)
    bars = {gid: text for gid, text in tips.items() if gid.startswith("request-")}
    assert len(bars) == picture.marks == 5
    assert all("thread r1-" in text for text in bars.values())  # repeat 1: the median, not repeat 3 (the last)
    assert "r3-" not in svg and "r2-" not in svg


def test_lanes_read_worker_numbers_with_pid_and_thread_as_tooltips(tmp_path: Path) -> None:
    rep = report.build(three_batches(tmp_path, [5.0, 5.0, 1.0]))  # median: repeat 1, one request after another
    (picture,) = timeline_plots.timelines(rep, tmp_path)
    svg = (tmp_path / picture.svg).read_text()
    labels = re.findall(r">(worker \d+)</text>", svg)
    assert labels == [f"worker {i}" for i in range(1, 6)]  # numbered in order of first handler entry
    assert not re.search(r">pid \d+", svg)  # no pid in the visible text
    tips = titles(svg)
    assert tips["worker-httpx-async-1"] == "worker 1: pid 100 thread r1-0"
    assert tips["worker-httpx-async-5"] == "worker 5: pid 100 thread r1-4"
    assert tips["request-httpx-async-A"].startswith("request A: worker 1 (pid 100 thread r1-0), handler ")


def test_lane_order_follows_first_entry() -> None:
    frame = pd.DataFrame(
        {
            "name": ["A", "B", "C"],
            "pid": [7.0, 7.0, 8.0],  # read back from a CSV column with gaps: floats
            "thread": ["t2", "t1", "t1"],
            "enter_ns": [30, 10, 20],
            "exit_ns": [40, 15, 25],
        }
    )
    layout = lanes(frame)
    assert [w[0] for w in layout.workers] == ["worker 1", "worker 2", "worker 3"]
    assert layout.ids == ["pid 7 thread t1", "pid 8 thread t1", "pid 7 thread t2"]
    assert layout.worker_of == {"B": 0, "C": 1, "A": 2}


def test_tooltips_are_escaped_and_only_where_asked() -> None:
    svg = '<svg>\n  <g id="request-a">\n   <path/>\n  </g>\n  <g id="other">\n  </g>\n</svg>'
    out = picture.with_tooltips(svg, {"request-a": "pid 1 thread <main> & co"})
    assert '<g id="request-a">\n   <title>pid 1 thread &lt;main&gt; &amp; co</title>' in out
    assert '<g id="other">\n  </g>' in out
    assert picture.with_tooltips(svg, {}) == svg


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> sweep_report.SweepReport:
    return sweep_report.build(fixed_sweep(tmp_path_factory.mktemp("sweep")))


def panel(fig: sweep_plots.Figure, server: str) -> sweep_plots.Axes:
    return next(ax for ax in fig.axes if ax.get_title().startswith(f"{server} "))


def test_sweep_chart_one_panel_per_server(sweep: sweep_report.SweepReport) -> None:
    servers = ["go-nethttp", "gunicorn-threads5", "gunicorn-default"]
    fig, marks = sweep_plots.sweep_chart(sweep, servers, "all")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == [
        "go-nethttp (k = unbounded)",
        "gunicorn-threads5 (k = 5)",
        "gunicorn-default (k = 1)",
    ]
    assert marks == int(sweep.points["ratio"].notna().sum())


def test_over_budget_point_is_not_joined(sweep: sweep_report.SweepReport) -> None:
    fig, _ = sweep_plots.sweep_chart(sweep, ["gunicorn-default"], "serial")
    ax = panel(fig, "gunicorn-default")
    joined = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(joined) == 1 and list(joined[0].get_xdata()) == [1, 2, 5]  # N = 10 ran out of budget
    (over,) = [line for line in ax.get_lines() if line.get_gid() == "point-gunicorn-default-10"]
    assert over.get_marker() == "^" and over.get_linestyle() == "None"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "over budget: took at least this (not joined)" in labels


def test_legend_entries_are_drawn_like_the_lines(sweep: sweep_report.SweepReport) -> None:
    fig, _ = sweep_plots.sweep_chart(sweep, ["gunicorn-threads5", "gunicorn-default"], "some")
    handles = {h.get_label(): h for h in fig.legends[0].legend_handles if isinstance(h, Line2D)}
    model = handles["model: ceil(N / k) (1 when unbounded)"]
    measured = handles["measured"]
    for server in ("gunicorn-threads5", "gunicorn-default"):
        lines = panel(fig, server).get_lines()
        dashed = [line for line in lines if line.get_linestyle() == "--"]
        assert dashed and all(to_hex(line.get_color()) == to_hex(model.get_color()) for line in dashed)
        solid = [line for line in lines if line.get_linestyle() == "-"]
        assert solid and all(to_hex(line.get_color()) == to_hex(measured.get_color()) for line in solid)
        assert model.get_linestyle() == "--" and measured.get_linestyle() == "-"


def test_syn_drops_are_annotated(sweep: sweep_report.SweepReport, tmp_path: Path) -> None:
    points = sweep.points.copy()
    at = (points["server"] == "go-nethttp") & (points["clients"] == 20)
    points.loc[at, "listen_overflows"] = 5
    points.loc[at, "syn_retrans"] = 5
    fig, _ = sweep_plots.sweep_chart(replace(sweep, points=points), ["go-nethttp"], "unbounded")
    ax = panel(fig, "go-nethttp")
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["N = 20: SYNs dropped: backlog full\n(5 overflows, 5 resent after 1 s)"]
    assert [line.get_gid() for line in ax.get_lines() if (line.get_gid() or "").startswith("event-")] == [
        "event-go-nethttp-20"
    ]
    assert "the kernel dropped or resent SYNs" in [t.get_text() for t in fig.legends[0].get_texts()]
    plain, _ = sweep_plots.sweep_chart(sweep, ["go-nethttp"], "unbounded")
    assert not panel(plain, "go-nethttp").texts and len(plain.legends[0].get_texts()) == 2
    assert (
        sweep_plots.syn_event({"listen_overflows": pd.NA, "syn_retrans": 3}) == "SYNs resent (3, 1 s after the first)"
    )


def test_resources_chart_keeps_coinciding_servers_apart(sweep: sweep_report.SweepReport) -> None:
    points = sweep.points.assign(peak_threads=1, peak_rss_bytes=40 * 2**20)  # every server the same
    servers = ["go-nethttp", "gunicorn-threads5", "gunicorn-default"]
    fig, marks = sweep_plots.resources_chart(replace(sweep, points=points), servers, "all")
    rss_ax = fig.axes[0]
    at_5 = {}
    for line in rss_ax.get_lines():
        gid = line.get_gid() or ""
        if gid.startswith("point-") and gid.endswith("-5"):
            at_5[gid] = (float(line.get_xdata()[0]), line.get_marker())
    assert len(at_5) == 3
    xs = sorted(x for x, _ in at_5.values())
    assert xs[0] < 5 < xs[2] and len({m for _, m in at_5.values()}) == 3  # side by side, three shapes
    handles = fig.legends[0].legend_handles
    assert [h.get_label() for h in handles] == servers
    assert len({h.get_linestyle() for h in handles}) == 3
    assert marks == int(points["peak_rss_bytes"].notna().sum())


def test_sweep_pictures_write_png_and_svg(sweep: sweep_report.SweepReport, tmp_path: Path) -> None:
    pictures = sweep_plots.sweep_pictures(sweep, out_dir=tmp_path / "pictures", report_dir=tmp_path)
    for p in pictures:
        assert (tmp_path / p.png).stat().st_size > 0
        svg = (tmp_path / p.svg).read_text()
        if p.kind == "timeline":
            assert len(re.findall(r'<g id="request-[^"]+">\s*<title>request ', svg)) == p.marks
        else:
            assert len(re.findall(r'id="point-', svg)) == p.marks


def test_sweep_timeline_says_when_the_kernel_dropped_syns(sweep: sweep_report.SweepReport, tmp_path: Path) -> None:
    points = sweep.points.copy()
    at = (points["server"] == "gunicorn-threads5") & (points["clients"] == 10)  # the N its timeline shows
    points.loc[at, "listen_overflows"] = 2
    pictures = sweep_plots.sweep_pictures(
        replace(sweep, points=points), out_dir=tmp_path / "pictures", report_dir=tmp_path
    )
    (timeline,) = [p for p in pictures if p.kind == "timeline" and p.key == "gunicorn-threads5"]
    assert (
        "the kernel: SYNs dropped: backlog full (2 overflows, 0 resent after 1 s)"
        in (tmp_path / timeline.svg).read_text()
    )


def _batch(rejected: int, served: int = 2, at_ns: int = 5_000_000) -> pd.DataFrame:
    """A batch of ``served`` requests held 0.2 s and ``rejected`` answered 503 at one instant."""
    rows = []
    for i in range(served + rejected):
        ok = i < served
        rows.append({"name": f"R{i}", "pid": 1, "thread": "t1", "sent_ns": 0, "status": 200 if ok else 503,
                     "enter_ns": 1_000_000 if ok else float("nan"), "exit_ns": 201_000_000 if ok else float("nan"),
                     "recv_ns": 202_000_000 if ok else at_ns, "rejected": not ok})  # fmt: skip
    return pd.DataFrame(rows)


def test_rejected_requests_each_get_a_mark_and_the_legend_says_what_they_are(tmp_path: Path) -> None:
    from harness.core.picture import save
    from harness.core.timeline import MARK_ROWS, MARKS, timeline_figure

    fig, bars = timeline_figure([("five rejected at once", "p", _batch(5))], delay_s=0.2, title="t")
    assert bars == 2
    save(fig, tmp_path, "t", report_dir=tmp_path)
    svg = (tmp_path / "t.svg").read_text()
    assert svg.count('<g id="rejected-p-') == MARK_ROWS  # three rows of marks at one instant, none hidden...
    assert f"+{5 - MARK_ROWS}</text>" in svg or f">+{5 - MARK_ROWS}<" in svg  # ...and the rest counted
    assert MARKS["rejected"].label in svg and MARKS["failed"].label not in svg
    plain, _ = timeline_figure([("none rejected", "q", _batch(0))], delay_s=0.2, title="t")
    save(plain, tmp_path, "u", report_dir=tmp_path)
    assert MARKS["rejected"].label not in (tmp_path / "u.svg").read_text()  # no legend without marks


def test_load_latency_is_in_ms_on_one_scale_for_every_server() -> None:
    from harness.load.plot import latency_figure

    steps = pd.DataFrame(
        [{"server": s, "offered_rps": r, "status": "ok", "p50_s": p, "p90_s": p, "p99_s": p}
         for s, rows in (("fast", [(100, 0.051), (200, 0.056)]), ("cliff", [(10, 0.05), (30, 3.0)]))
         for r, p in rows]
    )  # fmt: skip
    fig = latency_figure(steps, 0.05)
    fast, cliff = fig.axes[:2]
    assert fast.get_ylim() == cliff.get_ylim()  # 51-56 ms must not look like a 50 ms to 3 s cliff
    assert max(line.get_ydata()[-1] for line in cliff.get_lines()) == pytest.approx(3000)  # ms, not s
    assert "ms" in fast.get_ylabel()
