"""One table across interpreters: each setup's verdict and ratio per CPython, waiting and computing.

``interpreters.json`` is a list of objects with ``python``, ``gil_enabled``,
``server``, ``client``, ``work``, ``ratio_median``, ``verdict`` (and
``parallelism``), one per pairing per interpreter, read from each run's own
``report.json`` and ``requests.csv``. What each interpreter is expected to change
is stated beside the table: nothing for waiting handlers; for CPU work on a
free-threaded build, threads in one process reaching more than one core.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from harness.core.exporting import clean
from harness.core.thresholds import GIL_MAX_PARALLELISM


@dataclass(frozen=True)
class Run:
    python: str
    free_threaded: bool
    work: str
    out_dir: Path
    status: int


def rows_of(run: Run) -> list[dict[str, Any]]:
    report_path = run.out_dir / "report.json"
    if not report_path.exists():
        return []
    report = json.loads(report_path.read_text(encoding="utf-8"))
    gil: dict[tuple[str, str], set[str]] = {}
    requests = run.out_dir / "requests.csv"
    if requests.exists():
        frame = pd.read_csv(requests, usecols=["server", "client", "gil_enabled", "status"])
        for (server, client), group in frame[frame["status"] == 200].groupby(["server", "client"]):
            gil[(str(server), str(client))] = {str(v) for v in group["gil_enabled"].dropna()}
    rows = []
    for p in report["pairings"]:
        seen = gil.get((p["server"], p["client"]), set())
        rows.append({
            "python": run.python,
            "free_threaded": run.free_threaded,
            "gil_enabled": None if not seen else ("True" in seen if len(seen) == 1 else "mixed"),
            "server": p["server"],
            "client": p["client"],
            "work": run.work,
            "ratio_median": p.get("ratio_median"),
            "parallelism": p.get("parallelism"),
            "verdict": p.get("behaviour") or p.get("status"),
        })  # fmt: skip
    return rows


def render_json(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """A list of objects, one per pairing per interpreter (what ran and what was skipped is in the markdown)."""
    return json.dumps(clean(rows), indent=2) + "\n"


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    if row["ratio_median"] is None:
        return str(row["verdict"])
    par = f", par {row['parallelism']:.2f}" if row.get("parallelism") is not None else ""
    gil = " **GIL on**" if row["free_threaded"] and row["gil_enabled"] is True else ""
    return f"{row['verdict']} {row['ratio_median']:.2f}x{par}{gil}"


def render_markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    pythons = list(dict.fromkeys(r["python"] for r in rows))
    out = [
        "# The interpreter as an axis",
        "",
        f"The comparison's Python servers and clients, run by each CPython found on this machine "
        f"({', '.join(pythons) or 'none'}), one environment each, at the versions of constraints.txt. Each cell: "
        "what the server did (from its handlers' records), the batch wall time / D, and parallelism (the "
        "server's CPU seconds over the batch's wall seconds). Command: "
        f"`{meta['command']}`; commit `{str(meta.get('commit', 'unknown'))[:12]}`.",
        "",
    ]
    if meta.get("skipped"):
        out += ["Skipped: " + "; ".join(meta["skipped"]) + ".", ""]
    for work, title in (("wait", "Waiting handlers"), ("cpu", "CPU work")):
        part = [r for r in rows if r["work"] == work]
        if not part:
            continue
        keys = list(dict.fromkeys((r["server"], r["client"]) for r in part))
        by = {(r["server"], r["client"], r["python"]): r for r in part}
        table = [[f"`{s}`", c, *(_cell(by.get((s, c, py))) for py in pythons)] for s, c in keys]
        grid = tabulate(table, headers=["server", "client", *pythons], tablefmt="github", disable_numparse=True)
        out += [f"## {title}", "", expectation(work, part, pythons), "", grid, ""]
    return "\n".join(out)


def expectation(work: str, rows: list[dict[str, Any]], pythons: list[str]) -> str:
    """What each interpreter is expected to change, and whether it did, in words."""
    by_pair: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        if not r["free_threaded"]:
            by_pair.setdefault((r["server"], r["client"]), set()).add(str(r["verdict"]))
    differ = sorted(f"{s} x {c}" for (s, c), v in by_pair.items() if len(v) > 1)
    if work == "wait":
        expected = "Expected: nothing changes with the interpreter; handlers that wait need no core."
    else:
        expected = (
            "Expected: with the GIL, threads in one process take turns (parallelism at most "
            f"{GIL_MAX_PARALLELISM:g}) on every interpreter; on a free-threaded build they can reach more than one "
            "core. "
        )
        free = [r for r in rows if r["free_threaded"]]
        if not free:
            expected += "No free-threaded build was found here, so that part is not checked."
        else:
            beyond = [r for r in free if (r.get("parallelism") or 0) > GIL_MAX_PARALLELISM]
            expected += f"On the free-threaded build, {len(beyond)} of {len(free)} pairings went beyond one core."
    found = (
        "Measured: the same verdict on every GIL interpreter for every pairing."
        if not differ
        else f"Measured: the verdict differs between GIL interpreters for {', '.join(differ)}."
    )
    return f"{expected} {found}"


@dataclass(frozen=True)
class InterpretersReport:
    rows: list[dict[str, Any]]
    meta: dict[str, Any]


class InterpretersMarkdownExporter:
    filename = "interpreters.md"

    def render(self, report: InterpretersReport) -> str:
        return render_markdown(report.rows, report.meta)


class InterpretersJsonExporter:
    filename = "interpreters.json"

    def render(self, report: InterpretersReport) -> str:
        return render_json(report.rows, report.meta)
