"""The sweep's pictures, drawn headless (matplotlib's Agg and SVG canvases, no pyplot).

Per group of servers with the same kind of declared capacity: wall / D against N
(log-log, one small panel per server) with the predicted ceil(N / k) line,
over-budget points apart and SYN drops annotated, and peak RSS and threads
against N; plus one timeline per server at a telling N (``harness.core.timeline``).
Each measured point is an artist of its own with a ``gid``, so the SVG carries
``id="point-..."`` once per point and a test can count them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from harness.core.frames import Row, number
from harness.core.picture import Picture, save, slug
from harness.core.timeline import BAR_COLOR, timeline_figure
from harness.sweep.capacity import AT_ONCE_MAX_RATIO, GROUPS, capacity_group, served_at_once

if TYPE_CHECKING:
    from harness.sweep.report import SweepReport

TIMELINE_MIN_N = 10
"""A sweep timeline shows the smallest N at or above max(k + 1, this)..."""
TIMELINE_MAX_N = 50
"""...or, for an unbounded server, its first N not served at once, up to this many bars."""


def timeline_n(k: int | None, measured: Sequence[tuple[int, bool]]) -> int | None:
    """The N a server's sweep timeline shows, from its measured (N, served at once) points.

    Bounded: the smallest N >= max(k + 1, 10), where waiting for a free slot shows.
    Unbounded: the first N not served at once when it is small enough to draw
    (``TIMELINE_MAX_N``), otherwise the smallest N >= 10.
    """
    if not measured:
        return None
    ns = sorted(n for n, _ in measured)
    if k is None:
        missed = sorted(n for n, at_once in measured if not at_once)
        if missed and missed[0] <= TIMELINE_MAX_N:
            return missed[0]
    target = max(TIMELINE_MIN_N, (k or 0) + 1)
    above = [n for n in ns if n >= target]
    return above[0] if above else ns[-1]


NICE = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
FINE = (1, 2, 3, 4, 6, 8, 10, 15, 20, 30, 40, 60, 80, 100, 150, 200, 300, 400, 600, 800, 1000, 2000, 5000)
"""Denser ticks for the threads axis, whose values sit between the ladder's."""
"""Tick values of the log axes, printed as plain numbers."""


def _log_axis(axis: Axis, ticks: Sequence[float]) -> None:
    axis.set_major_locator(FixedLocator(list(ticks)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


MARKERS = ("o", "s", "D", "v", "P", "X")
"""One shape per server of a chart, so servers that measure the same stay visible."""
LINESTYLES = ("-", "--", ":", "-.")
"""One line style per server of a resources chart, for the same reason."""
DODGE = 0.018
"""On a log N axis, servers of one resources chart are shifted this fraction of the
axis apart (about a marker's width), so points with the same N and value sit side by
side, not on each other."""
MEASURED_COLOR = BAR_COLOR
MODEL_COLOR = "#888888"
OVER_COLOR = "#d0661c"
EVENT_COLOR = "#c03030"
PANEL_COLUMNS = 3
"""Small multiples per row of a wall / D chart: one panel per server."""

MEASURED_STYLE: dict[str, Any] = {"color": MEASURED_COLOR, "linestyle": "-", "linewidth": 1.0}
MEASURED_POINT: dict[str, Any] = {"marker": "o", "markersize": 5, "color": MEASURED_COLOR, "linestyle": "none"}
MODEL_STYLE: dict[str, Any] = {"color": MODEL_COLOR, "linestyle": "--", "linewidth": 1.2}
OVER_POINT: dict[str, Any] = {
    "marker": "^",
    "markersize": 8,
    "color": OVER_COLOR,
    "markerfacecolor": "none",
    "markeredgewidth": 1.4,
    "linestyle": "none",
}
EVENT_RING: dict[str, Any] = {
    "marker": "o",
    "markersize": 12,
    "color": EVENT_COLOR,
    "markerfacecolor": "none",
    "markeredgewidth": 1.0,
    "linestyle": "none",
}
"""The artists of a wall / D chart and, drawn from the same dicts, its legend's entries."""


def _colors(names: Sequence[str]) -> dict[str, object]:
    cmap = mpl.colormaps["tab10"]
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def _markers(names: Sequence[str]) -> dict[str, str]:
    return {name: MARKERS[i % len(MARKERS)] for i, name in enumerate(names)}


def _count(value: object) -> int:
    """A counter that may be missing (``pd.NA``, NaN) as an int, 0 when missing."""
    found = number(value)
    return 0 if found is None else int(found)


def syn_event(point: Row) -> str | None:
    """What the kernel counted during a point's batch, when it dropped or resent SYNs.

    ``listen_overflows``: a connection found the listen backlog (the accept queue)
    full and its SYN was dropped; ``syn_retrans``: SYNs resent, each 1 s after the
    first (see ``capacity.explain``). The counters are the machine's.
    """
    overflows, resends = _count(point.get("listen_overflows")), _count(point.get("syn_retrans"))
    if overflows:
        return f"SYNs dropped: backlog full\n({overflows} overflows, {resends} resent after 1 s)"
    if resends:
        return f"SYNs resent ({resends}, 1 s after the first)"
    return None


def wall_panel(ax: Axes, report: SweepReport, server: str, *, top: int) -> int:
    """One server's wall / D against N on ``ax``: its model line, its measured points
    joined by a line, over-budget points apart (not joined: the batch took at least
    that long), and the first point where the kernel dropped or resent SYNs annotated."""
    pts = report.points
    mine = pts[(pts["server"] == server) & pts["ratio"].notna()].sort_values("clients")
    k = report.declared(server)
    ax.axhspan(0.8, AT_ONCE_MAX_RATIO, color="#e6f2e6", zorder=0)
    if report.is_declared(server):  # no model for a --target whose capacity nobody declared
        grid = np.unique(np.round(np.geomspace(1, top, 400)).astype(int))
        ax.plot(grid, [math.ceil(n / k) if k else 1 for n in grid], zorder=1, **MODEL_STYLE)
    ok = mine[mine["status"] != "over budget"]
    ax.plot(ok["clients"], ok["ratio"], zorder=2, **MEASURED_STYLE)
    marks = 0
    noted = False
    for _, p in mine.iterrows():
        over = p["status"] == "over budget"
        style = OVER_POINT if over else MEASURED_POINT
        ax.plot([p["clients"]], [p["ratio"]], zorder=3, gid=f"point-{slug(server)}-{p['clients']}", **style)
        marks += 1
        event = syn_event(p)
        if event is None:
            continue
        ax.plot([p["clients"]], [p["ratio"]], zorder=3, gid=f"event-{slug(server)}-{p['clients']}", **EVENT_RING)
        if not noted:  # the first one says what the rings mean; the legend says it for the rest
            note = ax.annotate(
                f"N = {p['clients']}: {event}",
                (p["clients"], p["ratio"]),
                xytext=(0.03, 0.8),  # the upper left stays clear: measured points rise to the right
                textcoords="axes fraction",
                ha="left",
                va="bottom",
                fontsize=7,
                color=EVENT_COLOR,
                bbox={"boxstyle": "square,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
                arrowprops={"arrowstyle": "-", "color": EVENT_COLOR, "linewidth": 0.8, "shrinkB": 6},
            )
            note.set_in_layout(False)
            noted = True
    ax.set_title(f"{server} ({k_text(report, server)})", fontsize=9)
    return marks


def k_text(report: SweepReport, server: str) -> str:
    """The declared capacity, as a chart's title says it."""
    if not report.is_declared(server):
        return "k not declared"
    return f"k = {report.declared(server) or 'unbounded'}"


def _legend_entry(label: str, *styles: Mapping[str, Any]) -> Line2D:
    merged: dict[str, Any] = {}
    for style in styles:
        merged.update(style)
    return Line2D([], [], label=label, **merged)


def sweep_chart(report: SweepReport, servers: Sequence[str], title: str) -> tuple[Figure, int]:
    """wall / D against N (log-log), one small panel per server on shared axes: measured
    points and the server's predicted ceil(N / k) line, so servers that measure the
    same (two 5-wide gunicorns, three serial servers) are all seen."""
    cols = min(len(servers), PANEL_COLUMNS)
    rows = math.ceil(len(servers) / cols)
    fig = Figure(figsize=(2.9 * cols + 0.9, 3.1 * rows + 1.1), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    pts = report.points
    top = int(pts["clients"].max())
    marks = 0
    events = False
    for ax, server in zip(axes, servers, strict=False):
        marks += wall_panel(ax, report, server, top=top)
        mine = pts[(pts["server"] == server) & pts["ratio"].notna()]
        events = events or any(syn_event(p) for _, p in mine.iterrows())
    for ax in axes[len(servers) :]:
        ax.set_visible(False)
    over = bool((pts[pts["server"].isin(servers)]["status"] == "over budget").any())
    first = axes[0]
    first.set_xscale("log")
    first.set_yscale("log")
    _log_axis(first.xaxis, [v for v in NICE if v <= top and str(v)[0] != "2"])  # narrow panels: 1, 5, 10, 50..
    first.xaxis.set_minor_locator(FixedLocator([v for v in NICE if v <= top and str(v)[0] == "2"]))
    low, high = first.get_ylim()  # the predicted lines reach past the measured points
    _log_axis(first.yaxis, [v for v in NICE if low <= v <= high])
    for i, ax in enumerate(axes[: len(servers)]):
        ax.grid(True, which="both", color="#dddddd", linewidth=0.6)
        ax.tick_params(labelsize=7)
        if i % cols == 0:
            ax.set_ylabel("batch wall time / D")
        if i >= len(servers) - cols:
            ax.set_xlabel("N, requests sent at once")
    handles = [
        _legend_entry("measured", MEASURED_STYLE, {"marker": MEASURED_POINT["marker"], "markersize": 5}),
        _legend_entry("model: ceil(N / k) (1 when unbounded)", MODEL_STYLE),
    ]
    if over:
        handles.append(_legend_entry("over budget: took at least this (not joined)", OVER_POINT))
    if events:
        handles.append(_legend_entry("the kernel dropped or resent SYNs", EVENT_RING))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"{title}: wall / D against N (green band: served at once, <= {AT_ONCE_MAX_RATIO}x)", fontsize=10)
    return fig, marks


def resources_chart(report: SweepReport, servers: Sequence[str], title: str) -> tuple[Figure, int]:
    """Peak RSS (summed over the server's processes) and peak OS threads against N.

    Every server has its own colour, shape and line style, and is shifted a little
    along the log N axis (``DODGE``), so servers with the same values (one
    thread each) are seen side by side; the legend's entries are drawn the same way.
    """
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    rss_ax, thr_ax = fig.subplots(1, 2)
    colors, shapes = _colors(servers), _markers(servers)
    marks = 0
    pts = report.points
    handles = []
    top = int(pts["clients"].max())
    shown = pts[pts["server"].isin(servers) & pts["peak_rss_bytes"].notna()]["clients"]
    decades = math.log10(max(int(shown.max()) / int(shown.min()), 2)) if len(shown) else 1.0  # the axis's span
    for i, server in enumerate(servers):
        mine = pts[(pts["server"] == server) & pts["peak_rss_bytes"].notna()].sort_values("clients")
        shift = 10 ** (DODGE * decades * (i - (len(servers) - 1) / 2))
        x = mine["clients"].astype(float) * shift
        line = {"color": colors[server], "linewidth": 0.9, "linestyle": LINESTYLES[i % len(LINESTYLES)]}
        point = {"marker": shapes[server], "color": colors[server], "markersize": 5, "alpha": 0.85}
        rss_ax.plot(x, mine["peak_rss_bytes"] / 2**20, **line)
        thr_ax.plot(x, mine["peak_threads"], **line)
        for xi, (_, p) in zip(x, mine.iterrows(), strict=True):
            gid = f"{slug(server)}-{p['clients']}"
            rss_ax.plot([xi], [p["peak_rss_bytes"] / 2**20], gid=f"point-{gid}", **point)
            thr_ax.plot([xi], [p["peak_threads"]], gid=f"threads-{gid}", **point)
            marks += 1
        handles.append(_legend_entry(server, line, point))
    ladder = [v for v in NICE if v <= top]
    rss_ax.set_ylim(bottom=0)
    thr_ax.set_yscale("log")
    low, high = thr_ax.get_ylim()
    _log_axis(thr_ax.yaxis, [v for v in FINE if low <= v <= high])
    for ax, label in ((rss_ax, "peak RSS, MiB (sum over the server's processes)"), (thr_ax, "peak OS threads (log)")):
        ax.set_xscale("log")
        _log_axis(ax.xaxis, ladder)
        ax.set_xlabel("N, requests sent at once")
        ax.set_ylabel(label)
        ax.grid(True, which="major", color="#dddddd", linewidth=0.6)
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"{title}: the server's resources at their peak during each batch", fontsize=10)
    return fig, marks


def sweep_pictures(report: SweepReport, *, out_dir: Path, report_dir: Path) -> list[Picture]:
    """Both charts per group of servers, then one timeline per server."""
    pictures: list[Picture] = []
    groups: dict[str, list[str]] = {}
    for server in report.servers:
        group = capacity_group(report.declared(server), declared=report.is_declared(server))
        groups.setdefault(group, []).append(server)
    for group, title in GROUPS.items():
        servers = groups.get(group)
        if not servers or report.points[report.points["server"].isin(servers)]["ratio"].isna().all():
            continue
        sampled = report.points[report.points["server"].isin(servers)]["peak_rss_bytes"].notna().any()
        charts = (("sweep", sweep_chart), ("resources", resources_chart)) if sampled else (("sweep", sweep_chart),)
        for kind, draw in charts:  # a --target's resources are not sampled: no chart of them
            fig, marks = draw(report, servers, title)
            png, svg = save(
                fig, out_dir, f"sweep-{'ratio' if kind == 'sweep' else kind}-{group}", report_dir=report_dir
            )
            pictures.append(Picture(kind, group, f"{title}: {', '.join(servers)}", png, svg, marks))
    requests = report.requests[~report.requests["warmup"].astype(bool)]
    for server in report.servers:
        mine = report.points[(report.points["server"] == server) & report.points["ratio"].notna()]
        ok = mine[mine["status"] == "ok"]
        candidates = [(int(row["clients"]), served_at_once(row)) for _, row in (ok if len(ok) else mine).iterrows()]
        n = timeline_n(report.declared(server), candidates)
        if n is None:
            continue
        point = mine[mine["clients"] == n].iloc[0]
        reqs = requests[(requests["server"] == server) & (requests["clients"] == n)]
        label = (
            f"{point['client']}: {point['ratio']:.2f}x "
            f"(predicted {format(point['predicted_ratio'] or math.nan, 'g')}x), "
            f"{point['max_in_flight']} in flight, {point['processes']} process(es), {point['threads']} thread(s)"
        )
        if event := syn_event(point):
            label += f"\nthe kernel: {event.replace(chr(10), ' ')}"
        title = f"{server} ({k_text(report, server)}): N = {n} at once, D = {point['delay_s']:g} s"
        tooltips: dict[str, str] = {}
        fig, bars = timeline_figure(
            [(label, slug(server), reqs)], delay_s=float(point["delay_s"]), title=title, tooltips=tooltips
        )
        png, svg = save(fig, out_dir, f"sweep-timeline-{slug(server)}", report_dir=report_dir, tooltips=tooltips)
        pictures.append(Picture("timeline", server, title, png, svg, bars))
    return pictures
