"""Pictures a reader can paste, drawn from the published report files (headless).

``matrix``: every setup against every client, waiting and computing side by side,
each cell coloured by its batch wall time / D (log scale: 1x at once, Nx one at a
time) with the value written in it. ``parallelism``: under CPU work, how many cores'
worth each setup used (its servers' CPU seconds over the batch's wall seconds),
grouped by how it serves: Go, several processes, threads of one process, one thread.
Each carries a one-line caption naming the commit, D, N and the machine. They are
drawn from ``report.json`` files, not from a run, so ``publish`` draws them after the
runs it needs (``python -m harness figures``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.catalog import CATALOG
from harness.core.errors import UsageError
from harness.core.picture import Picture, save

Report = Mapping[str, Any]
MATRIX = "matrix"
PARALLELISM = "parallelism"
SEQUENTIAL = "httpx-sequential"
"""The naive baseline: ~N x D against any server, so it says nothing about parallelism."""
CELL_W, CELL_H = 1.05, 0.3


def read(path: Path) -> Report:
    """One report.json, or one line that says what is missing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path} ({exc}): publish or run it first (nox -s publish)") from exc
    if not str(data.get("schema", "")).startswith("concurrency-compare/report/"):
        raise UsageError(f"{path} is not a compare report.json")
    return dict(data)


def caption(*reports: Report) -> str:
    """One line: what was run, on which commit and machine (every report's D and N, deduplicated)."""
    parts = []
    for r in reports:
        s, prov = r["settings"], r.get("provenance") or {}
        parts.append(f"{s.get('work', 'wait')}: D = {s['delay_s']:g} s, N = {s['clients']}, "
                     f"commit {str(prov.get('commit', 'unknown'))[:12]}")  # fmt: skip
    env = reports[0]["environment"]
    machine = f"{env.get('cores')} cores {env.get('cpu_model', '')}".strip()
    date = str(env.get("date", ""))[:10]
    return f"{'; '.join(parts)}; {machine}, {env.get('python')}, {env.get('go') or 'no Go'}; {date}"


def _pairings(report: Report) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(p["server"], p["client"]): p for p in report["pairings"]}


def _order(reports: Sequence[Report], key: str) -> list[str]:
    return list(dict.fromkeys(p[key] for r in reports for p in r["pairings"]))


def matrix_figure(reports: Sequence[Report]) -> Any:
    """Servers down, clients across, one panel per report (waiting, computing)."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullLocator

    servers, clients = _order(reports, "server"), _order(reports, "client")
    top = max([float(r["settings"]["clients"]) for r in reports]
              + [p["ratio_median"] for r in reports for p in r["pairings"] if p.get("ratio_median")])  # fmt: skip
    vmax = max(top, 2.0)
    norm = LogNorm(vmin=1.0, vmax=vmax)
    width = 2.2 + CELL_W * len(clients) * len(reports)
    fig = Figure(figsize=(width, 1.6 + CELL_H * len(servers)), layout="constrained")
    axes = fig.subplots(1, len(reports), squeeze=False, sharey=True)[0]
    image = None
    for ax, report in zip(axes, reports, strict=True):
        by = _pairings(report)
        grid = [[by.get((s, c), {}).get("ratio_median") or math.nan for c in clients] for s in servers]
        image = ax.imshow([[max(v, 1.0) if not math.isnan(v) else v for v in row] for row in grid],
                          cmap="RdYlGn_r", norm=norm, aspect="auto")  # fmt: skip
        for i, s in enumerate(servers):
            for j, c in enumerate(clients):
                p = by.get((s, c))
                text = "-" if p is None or p.get("ratio_median") is None else f"{p['ratio_median']:.2f}"
                if p is not None and p.get("rejected"):
                    text += f"\n{p['rejected']} rejected"
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", ec="0.35", lw=0))
                ax.text(j, i, text, ha="center", va="center", fontsize=6.5, gid=f"cell-{s}-{c}")
        s, cores = report["settings"], report["environment"].get("cores") or 1
        title = f"waiting, D = {s['delay_s']:g} s"
        if s.get("work") == "cpu":
            title = f"computing for about D = {s['delay_s']:g} s (at best {s['clients'] / cores:.2f}x on {cores} cores)"
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(clients)), clients, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(len(servers)), servers, fontsize=7)
        ax.tick_params(length=0)
    if image is not None:
        bar = fig.colorbar(image, ax=list(axes), shrink=0.6, pad=0.01)
        bar.set_label("batch wall time / D (1 = all at once)", fontsize=8)
        bar.ax.yaxis.set_major_locator(FixedLocator([t for t in (1, 1.5, 2, 3, 5, 8, 13, 21) if t <= vmax]))
        bar.ax.yaxis.set_major_formatter(FormatStrFormatter("%gx"))
        bar.ax.yaxis.set_minor_locator(NullLocator())
        bar.ax.tick_params(labelsize=7)
    n = reports[0]["settings"]["clients"]
    fig.suptitle(f"{n} requests at once: batch wall time as a multiple of D (median of the counted batches; "
                 "hatched: some requests rejected)", fontsize=10)  # fmt: skip
    fig.supxlabel(caption(*reports), fontsize=6.5, color="0.3")
    return fig


@dataclass(frozen=True)
class Bar:
    server: str
    group: str
    parallelism: float
    in_flight: int


ONE_THREAD = "one thread (async, gevent, sync)"
GROUPS = ("Go", "processes", "threads", ONE_THREAD)
COLORS = {"Go": "tab:cyan", "processes": "tab:green", "threads": "tab:orange", ONE_THREAD: "tab:gray"}


def _group(row: Mapping[str, Any]) -> str:
    """How a setup serves, from the catalog (Go) and what the handlers' records showed."""
    spec = CATALOG.servers_by_name.get(str(row["server"]))
    if spec is not None and spec.needs_go:
        return "Go"
    if (row.get("processes") or 0) > 1:
        return "processes"
    return "threads" if (row.get("threads") or 0) > 1 else ONE_THREAD


def bars(report: Report) -> list[Bar]:
    """One bar per server: its first concurrent client's parallelism (the article's client first)."""
    by = _pairings(report)
    clients = [c for c in _order([report], "client") if c != SEQUENTIAL]
    clients.sort(key=lambda c: c != "go-goroutines")
    found = []
    for server in _order([report], "server"):
        row = next((by[(server, c)] for c in clients if by.get((server, c), {}).get("parallelism") is not None), None)
        if row is not None:
            found.append(Bar(server, _group(row), float(row["parallelism"]), int(row.get("max_in_flight") or 0)))
    return sorted(found, key=lambda b: (GROUPS.index(b.group), -b.parallelism))


def parallelism_figure(report: Report) -> Any:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    found = bars(report)
    cores = report["environment"].get("cores") or 1
    fig = Figure(figsize=(7.5, 1.4 + 0.28 * len(found)), layout="constrained")
    ax = fig.add_subplot()
    ys = range(len(found))[::-1]
    for y, b in zip(ys, found, strict=True):
        ax.barh(y, b.parallelism, color=COLORS[b.group], gid=f"bar-{b.server}")
        ax.text(b.parallelism + 0.02, y, f"{b.parallelism:.2f} ({b.in_flight} in flight)", va="center", fontsize=7)
    ax.set_yticks(list(ys), [b.server for b in found], fontsize=7)
    ax.axvline(1.0, color="0.4", lw=1, ls=":")
    ax.axvline(float(cores), color="tab:red", lw=1, ls="--")
    ax.set_xlim(0, max(float(cores), *(b.parallelism for b in found)) * 1.25)
    ax.set_xlabel(f"parallelism: cores' worth used (1 = one core; {cores} = every usable core)", fontsize=8)
    ax.tick_params(labelsize=7)
    groups = [g for g in GROUPS if any(b.group == g for b in found)]
    ax.legend([Patch(color=COLORS[g]) for g in groups], groups, fontsize=7, loc="lower right")
    n, d = report["settings"]["clients"], report["settings"]["delay_s"]
    fig.suptitle(f"{n} requests at once, each handler computing for about D = {d:g} s", fontsize=10)
    fig.supxlabel(caption(report), fontsize=6.5, color="0.3")
    return fig


def draw(results: Path, out_dir: Path) -> list[Picture]:
    """The matrix (waiting beside computing) and the parallelism chart, from ``results``."""
    waiting, cpu = read(results / "all" / "report.json"), read(results / "cpu" / "report.json")
    pictures = []
    for stem, title, fig, marks in (
        (MATRIX, "Batch wall time / D, waiting and computing", matrix_figure([waiting, cpu]),
         len(waiting["pairings"]) + len(cpu["pairings"])),
        (PARALLELISM, "Parallelism under CPU work", parallelism_figure(cpu), len(bars(cpu))),
    ):  # fmt: skip
        png, svg = save(fig, out_dir, stem, report_dir=out_dir)
        pictures.append(Picture(stem, "all", title, png, svg, marks))
    return pictures
