"""Timelines of a compare run, drawn headless (matplotlib's Agg and SVG canvases, no pyplot).

Every picture is drawn from the same frames as the tables of its report, in the
same run, and written as PNG (for the README and GitHub) and SVG; the drawing of
one batch is ``harness.core.timeline``'s. Imported only when there is something to
draw (it loads matplotlib).

``compare_timelines``: per server, one panel per client with its median counted
batch (the one whose wall / D is the median the report's matrix shows): one bar
per request from handler enter to exit, one lane per worker ("worker 1..k" in the
order they first entered a handler; the pid and thread are the SVG's tooltips),
x in units of D from the batch's first send.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from harness.core.picture import Picture, save, slug
from harness.core.timeline import timeline_figure

if TYPE_CHECKING:
    from harness.compare.report import Report


def median_batch(batches: pd.DataFrame) -> tuple[pd.Series, str]:
    """The counted batch whose wall / D is the median of ``batches`` (one pairing's), and
    how a panel title says so.

    For an even count, the lower of the two middle batches; the title then gives the
    median too (the matrix's number, the mean of the two). Batches without a ratio
    are skipped; with none left, the last batch.
    """
    measured = batches[batches["ratio"].notna()].sort_values(["ratio", "repeat"])
    if measured.empty:
        last = batches.iloc[batches["repeat"].argmax()]
        return last, "the last counted batch, no wall time"
    n = len(measured)
    pick = measured.iloc[(n - 1) // 2]
    if n == 1:
        return pick, f"its one counted batch: {pick['ratio']:.2f}x"
    if n % 2:
        return pick, f"median of {n} batches: {pick['ratio']:.2f}x"
    median = float(measured["ratio"].median())
    return pick, f"lower middle of {n} batches: {pick['ratio']:.2f}x (median {median:.2f}x)"


def compare_timelines(
    requests: pd.DataFrame, batches: pd.DataFrame, *, out_dir: Path, report_dir: Path
) -> list[Picture]:
    """A compare run's timelines: per server, the median counted batch of every client."""
    pictures = []
    counted = requests[~requests["warmup"].astype(bool)]
    rows = batches[~batches["warmup"].astype(bool)]
    for server in dict.fromkeys(counted["server"]):
        panels = []
        delay_s = float(rows[rows["server"] == server]["delay_s"].iloc[0])
        for client in dict.fromkeys(counted[counted["server"] == server]["client"]):
            mine = rows[(rows["server"] == server) & (rows["client"] == client)]
            shown, which = median_batch(mine)
            reqs = counted[
                (counted["server"] == server) & (counted["client"] == client) & (counted["repeat"] == shown["repeat"])
            ]
            label = (
                f"{client}: {which}; {shown['max_in_flight']} in flight, "
                f"{shown['processes']} process(es), {shown['threads']} thread(s)"
            )
            panels.append((label, slug(client), reqs))
        n = int(rows[rows["server"] == server]["clients"].iloc[0])
        title = f"{server}: the median counted batch of each client (N = {n}, D = {delay_s:g} s)"
        tooltips: dict[str, str] = {}
        fig, bars = timeline_figure(panels, delay_s=delay_s, title=title, tooltips=tooltips)
        png, svg = save(fig, out_dir, f"timeline-{slug(server)}", report_dir=report_dir, tooltips=tooltips)
        pictures.append(Picture("timeline", server, title, png, svg, bars))
    return pictures


def timelines(report: Report, out_dir: Path) -> list[Picture]:
    """The ``compare`` step: its timelines under ``out_dir/pictures``, linked from report.md."""
    if report.batches.empty or report.requests.empty:
        return []
    return compare_timelines(report.requests, report.batches, out_dir=out_dir / "pictures", report_dir=out_dir)
