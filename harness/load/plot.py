"""The load run's two pictures: throughput and latency against offered rate.

One small panel per server (servers never hide under each other). Throughput: the
achieved rate against the offered one, with the diagonal (kept up) and the model's
ceiling k / D. Latency: p50, p90 and p99 from the intended send time on a log
scale, with D marked; below the ceiling they sit near D, above it they climb.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from harness.core.picture import Picture, save
from harness.load.model import ceiling_rps

PANEL_W, PANEL_H = 3.2, 2.6
MIN_WIDTH = 7.0
"""Wide enough for the title and the legend when only one or two servers ran."""
PERCENTILES = (("p50_s", "p50", "o", "-"), ("p90_s", "p90", "s", "--"), ("p99_s", "p99", "^", ":"))


def _grid(n: int, *, sharey: bool = False) -> tuple[Figure, list[Axes]]:
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(max(PANEL_W * cols, MIN_WIDTH), PANEL_H * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=sharey).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def throughput_figure(steps: pd.DataFrame, capacities: dict[str, int | None], delay_s: float) -> Figure:
    servers = list(dict.fromkeys(steps["server"]))
    fig, axes = _grid(len(servers))
    for ax, server in zip(axes, servers, strict=True):
        part = steps[(steps["server"] == server) & (steps["status"] == "ok")].sort_values("offered_rps")
        top = float(part["offered_rps"].max()) if len(part) else 1.0
        ax.plot([0, top], [0, top], color="0.7", lw=1, ls="--", label="kept up (achieved = offered)")
        ceiling = ceiling_rps(capacities.get(server), delay_s)
        if not math.isinf(ceiling):
            ax.axhline(ceiling, color="tab:red", lw=1, ls=":", label="model ceiling k / D")
        lagged = part[part["client_lagged"]]
        ax.plot(part["offered_rps"], part["achieved_rps"], marker="o", color="tab:blue", label="achieved")
        if len(lagged):
            ax.plot(lagged["offered_rps"], lagged["achieved_rps"], ls="none", marker="x", color="tab:orange",
                    label="client lagged (not judged)")  # fmt: skip
        ax.set_title(server, fontsize=9)
        ax.set_xlabel("offered (requests/s)", fontsize=8)
        ax.set_ylabel("achieved (requests/s)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlim(0, top * 1.05)
        ax.set_ylim(0, top * 1.05)
    handles: dict[str, Artist] = {}
    labels: dict[str, str] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
            labels[label] = label
    fig.legend(list(handles.values()), list(labels), loc="outside lower center", ncols=4, fontsize=8)
    fig.suptitle(f"Throughput against offered rate (D = {delay_s:g} s)", fontsize=10)
    return fig


def latency_figure(steps: pd.DataFrame, delay_s: float) -> Figure:
    """Latency in ms (as the tables print it) on one log axis shared by every panel, so a
    wobble of a few ms near D and a climb to seconds are told apart at a glance."""
    servers = list(dict.fromkeys(steps["server"]))
    fig, axes = _grid(len(servers), sharey=True)
    for ax, server in zip(axes, servers, strict=True):
        part = steps[(steps["server"] == server) & (steps["status"] == "ok")].sort_values("offered_rps")
        for column, label, marker, style in PERCENTILES:  # "-" (too few samples) is a gap
            ax.plot(part["offered_rps"], pd.to_numeric(part[column], errors="coerce") * 1000, marker=marker,
                    ls=style, label=label)  # fmt: skip
        if "model_p50_s" in part:
            ax.plot(part["offered_rps"], pd.to_numeric(part["model_p50_s"], errors="coerce") * 1000, color="tab:red",
                    lw=1, ls=":", label="model p50")  # fmt: skip
        ax.axhline(delay_s * 1000, color="0.5", lw=1, ls="-.", label="D")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(server, fontsize=9)
        ax.set_xlabel("offered (requests/s)", fontsize=8)
        spec = ax.get_subplotspec()
        if spec is not None and spec.is_first_col():
            ax.set_ylabel("latency (ms, log; one scale)", fontsize=8)
        ax.tick_params(labelsize=7)
    handles: dict[str, Artist] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=4, fontsize=8)
    fig.suptitle(f"Latency from the intended send time against offered rate (D = {delay_s:g} s)", fontsize=10)
    return fig


def load_pictures(steps: pd.DataFrame, capacities: dict[str, int | None], delay_s: float, *, out_dir: Path,
                  report_dir: Path) -> list[Picture]:  # fmt: skip
    if not len(steps) or not (steps["status"] == "ok").any():
        return []
    found = []
    for kind, title, fig in (
        ("load-throughput", "Throughput against offered rate", throughput_figure(steps, capacities, delay_s)),
        ("load-latency", "Latency percentiles against offered rate", latency_figure(steps, delay_s)),
    ):
        png, svg = save(fig, out_dir, kind, report_dir=report_dir)
        found.append(Picture(kind, "all", title, png, svg, int((steps["status"] == "ok").sum())))
    return found
