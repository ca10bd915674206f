"""A batch drawn as a timeline (headless matplotlib): one bar per request from handler
enter to exit, one lane per worker; compare's timelines and the sweep's draw with it.

Each request bar is an artist of its own with a ``gid``, so the SVG carries
``id="request-..."`` once per bar and a test can count them. Imported only when
there is something to draw (it loads matplotlib).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

BAR_COLOR = "#4878a8"


@dataclass(frozen=True)
class Mark:
    marker: str
    color: str
    face: str
    label: str

    def style(self) -> dict[str, Any]:
        return {"marker": self.marker, "color": self.color, "markerfacecolor": self.face, "ls": "none",
                "markersize": 5}  # fmt: skip


MARKS = {
    "rejected": Mark("x", "#c03030", "#c03030", "rejected (429/503 at once): answered, no handler ran"),
    "failed": Mark("s", "#202020", "none", "failed: no answer or a wrong one, no handler ran"),
}
"""How a request that never reached a handler is marked, at the time its answer (or error) came."""
MARK_GAP_D = 0.04
"""Marks closer than this (x D) would hide each other: the later one goes on the row above."""
MARK_ROWS = 3
"""At most this many rows of marks; beyond, a count says how many more share the spot."""
LABEL_MAX_LANES = 12
"""Lanes are labelled "worker i" up to this many; beyond, only counted (the SVG's tooltips still name them)."""
NAME_MAX_BARS = 12
"""Bars carry their client's name up to this many per panel."""


@dataclass(frozen=True)
class Lanes:
    """Where each request of a batch is drawn.

    One lane per worker, a distinct (pid, thread) in the order they first entered a
    handler. Requests that overlap in time inside one worker (an event loop's
    awaiting handlers) are stacked on rows of their own within its lane, so "five
    at once on one thread" is seen, not hidden under one bar.
    """

    row_of: dict[str, int]
    """Request name -> row (0 at the top)."""
    workers: list[tuple[str, int, int]]
    """(label, first row, number of rows) per worker; labels read "worker 1..k"."""
    ids: list[str] = field(default_factory=list)
    """Per worker, what the OS calls it: "pid 24717 thread t24717" (the SVG's tooltip)."""
    worker_of: dict[str, int] = field(default_factory=dict)
    """Request name -> index of its worker in ``workers``."""

    @property
    def rows(self) -> int:
        return sum(n for _, _, n in self.workers)


def _plain(value: object) -> object:
    """A pid read back from a CSV column with gaps is a float: print it as the integer it is."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def lanes(requests: pd.DataFrame) -> Lanes:
    served = requests[requests["enter_ns"].notna()].sort_values(["enter_ns", "name"])
    by_worker: dict[tuple[object, object], list[tuple[int, int, str]]] = {}
    for pid, thread, enter, leave, name in zip(
        served["pid"], served["thread"], served["enter_ns"], served["exit_ns"], served["name"], strict=True
    ):
        by_worker.setdefault((pid, thread), []).append((int(enter), int(leave), str(name)))
    row_of: dict[str, int] = {}
    worker_of: dict[str, int] = {}
    workers = []
    ids = []
    first = 0
    for w, ((pid, thread), reqs) in enumerate(by_worker.items()):
        ends: list[int] = []  # the end of the last bar on each row of this worker
        for enter, leave, name in reqs:
            row = next((i for i, end in enumerate(ends) if end <= enter), len(ends))
            if row == len(ends):
                ends.append(leave)
            ends[row] = leave
            row_of[name] = first + row
            worker_of[name] = w
        workers.append((f"worker {w + 1}", first, len(ends)))
        ids.append(f"pid {_plain(pid)} thread {thread}")
        first += len(ends)
    return Lanes(row_of, workers, ids, worker_of)


def _kind(r: pd.Series) -> str:
    """``rejected`` when the record says so (or its status is 429/503), else ``failed``."""
    if "rejected" in r.index and not pd.isna(r["rejected"]):
        return "rejected" if bool(r["rejected"]) else "failed"
    return "rejected" if "status" in r.index and r["status"] in (429, 503) else "failed"


def _marks(
    ax: Axes, failed: pd.DataFrame, *, start: int, d_ns: float, gid: str, tips: dict[str, str], kinds: set[str]
) -> int:
    """Mark each request that reached no handler, above the lanes; return the rows of marks used.

    Marks that would overlap go on the row above (up to ``MARK_ROWS``); the rest of a
    crowded spot is counted in a label, so five rejections at one instant read as five.
    """
    last: list[float] = []  # the x of the last mark on each row
    crowded: dict[float, int] = {}
    for _, r in failed.iterrows():
        x = float((r["recv_ns"] - start) / d_ns)
        row = next((i for i, end in enumerate(last) if x - end >= MARK_GAP_D), len(last))
        if row >= MARK_ROWS:
            spot = last[-1]
            crowded[spot] = crowded.get(spot, 0) + 1
            continue
        if row == len(last):
            last.append(x)
        last[row] = x
        kind = _kind(r)
        kinds.add(kind)
        mark_gid = f"{kind}-{gid}-{r['name']}"
        ax.plot([x], [-0.9 - 0.45 * row], gid=mark_gid, **MARKS[kind].style())
        tips[mark_gid] = f"request {r['name']}: {kind} at {x:.2f} D" + (
            f" (status {int(r['status'])})" if "status" in r.index and not pd.isna(r["status"]) else ""
        )
    for spot, more in crowded.items():
        ax.text(spot + MARK_GAP_D, -0.9 - 0.45 * (MARK_ROWS - 1), f"+{more}", fontsize=7, va="center")
    return len(last)


def timeline_panel(
    ax: Axes,
    requests: pd.DataFrame,
    *,
    delay_s: float,
    gid: str,
    tooltips: dict[str, str] | None = None,
    kinds: set[str] | None = None,
) -> tuple[int, float]:
    """Draw one batch on ``ax``; return how many request bars it drew and where it ends (x D).

    ``tooltips`` (when given) gets, per bar and per lane label, the gid of its SVG group
    and the text to show on hover: the worker's pid and thread, the request's times.
    """
    start = int(requests["sent_ns"].min())
    d_ns = delay_s * 1e9
    layout = lanes(requests)
    served = requests[requests["enter_ns"].notna()]
    tips = tooltips if tooltips is not None else {}
    kinds = kinds if kinds is not None else set()
    bars = 0
    right = 1.0
    for i, (_, first, n) in enumerate(layout.workers):
        if i % 2 == 0:  # one shaded band per other worker: its rows belong together
            ax.axhspan(first - 0.5, first + n - 0.5, color="#f0f0f0", zorder=0, linewidth=0)
    for _, r in served.iterrows():
        name = str(r["name"])
        y = layout.row_of[name]
        enter, leave = ((r[c] - start) / d_ns for c in ("enter_ns", "exit_ns"))
        bar_gid = f"request-{gid}-{name}"
        bar = Rectangle(
            (enter, y - 0.35),
            leave - enter,
            0.7,
            facecolor=BAR_COLOR,
            edgecolor="white",
            linewidth=0.6,
            gid=bar_gid,
        )
        ax.add_patch(bar)
        w = layout.worker_of[name]
        tips[bar_gid] = (
            f"request {name}: {layout.workers[w][0]} ({layout.ids[w]}), handler {enter:.2f} D to {leave:.2f} D"
        )
        if len(served) <= NAME_MAX_BARS:
            ax.text((enter + leave) / 2, y, name, ha="center", va="center", fontsize=7, color="white")
        bars += 1
        right = max(right, leave, (r["recv_ns"] - start) / d_ns)
    failed = requests[requests["enter_ns"].isna()].sort_values("recv_ns")
    rows_used = _marks(ax, failed, start=start, d_ns=d_ns, gid=gid, tips=tips, kinds=kinds)
    if len(failed):
        right = max(right, float((failed["recv_ns"].max() - start) / d_ns))
    ax.set_ylim(max(layout.rows, 1) - 0.5, -0.9 - 0.45 * rows_used if rows_used else -0.5)
    if len(layout.workers) <= LABEL_MAX_LANES:
        ax.set_yticks([first + (n - 1) / 2 for _, first, n in layout.workers], [w[0] for w in layout.workers])
        ax.tick_params(axis="y", labelsize=7, length=0)
        for i, label in enumerate(ax.get_yticklabels()):
            label.set_gid(f"worker-{gid}-{i + 1}")
            tips[f"worker-{gid}-{i + 1}"] = f"{layout.workers[i][0]}: {layout.ids[i]}"
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(layout.workers)} workers", fontsize=8)
    for x in range(1, math.ceil(right) + 1):
        ax.axvline(x, color="#dddddd", linewidth=0.6, zorder=0)
    return bars, right


def _lane_height(requests: pd.DataFrame) -> float:
    rows = max(lanes(requests).rows, 1)
    return 0.5 + (0.22 if rows <= LABEL_MAX_LANES else 0.09) * rows


def timeline_figure(
    panels: Sequence[tuple[str, str, pd.DataFrame]],
    *,
    delay_s: float,
    title: str,
    tooltips: dict[str, str] | None = None,
) -> tuple[Figure, int]:
    """One figure with a panel per (title, gid, requests of one batch); returns (figure, bars).

    ``tooltips`` gets each bar's and lane label's hover text (see ``timeline_panel``).
    """
    heights = [_lane_height(reqs) for _, _, reqs in panels]
    fig = Figure(figsize=(8, sum(heights) + 0.6 * len(panels) + 0.6), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False, sharex=True, height_ratios=heights)[:, 0]
    bars = 0
    right = 1.0
    kinds: set[str] = set()
    for ax, (panel_title, gid, reqs) in zip(axes, panels, strict=True):
        drawn, end = timeline_panel(ax, reqs, delay_s=delay_s, gid=gid, tooltips=tooltips, kinds=kinds)
        bars, right = bars + drawn, max(right, end)
        ax.set_title(panel_title, fontsize=9, loc="left")
    axes[-1].set_xlim(0, right * 1.04)  # one scale for every panel: 1x and 5x side by side
    axes[-1].set_xlabel("time since the batch's first request was sent, in units of D (bars: handler enter to exit)")
    fig.suptitle(title, fontsize=10)
    if kinds:  # say what the marks above the lanes are, only when there are some
        shown = [m for kind, m in MARKS.items() if kind in kinds]
        handles = [Line2D([], [], **m.style()) for m in shown]
        fig.legend(handles, [m.label for m in shown], loc="outside lower center", ncols=2, fontsize=7, frameon=False)
    return fig, bars
