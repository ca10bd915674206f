"""Locust's CSV files and the workers' evidence lines, as this project's tables.

Inputs (what ``locust --csv PREFIX`` and ``python/locustfile.py`` write):

* ``PREFIX_stats.csv``: one row per request type and name, then ``Aggregated``;
  columns ``Type, Name, Request Count, Failure Count, Median Response Time, ...,
  Max Response Time, ..., Requests/s, Failures/s, 50%, 66%, ..., 95%, ..., 99%, ...,
  100%`` (ms). The locustfile's batches are the rows of type ``BATCH``, named
  ``batch of N``, their response time the batch's wall time.
* ``PREFIX_stats_history.csv``: ``Timestamp, User Count, Type, Name, ...`` once a
  second; only the run's length and its most users are read from it.
* ``PREFIX_failures.csv``: ``Method, Name, Error, Occurrences, ...``.
* ``DIR/*.jsonl`` (optional): one line per answer with the server's evidence (pid,
  thread, enter_ns, exit_ns, ...) and the batch it belonged to, from every worker.

Locust rounds response times above 100 ms to 10 ms in its percentiles, so the
batch wall time / D is also given from the evidence lines, which carry each batch's
exact wall time. The servers' stamps are read on the server's clock only (in flight,
processes, threads, hold time): the workers' clocks may be other hosts'.
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import UsageError
from harness.core.evidence import evidence, max_in_flight
from harness.core.protocol import parse_evidence_header
from harness.core.records import RequestRecord

BATCH_TYPE = "BATCH"


@dataclass(frozen=True)
class LocustReport:
    settings: dict[str, Any]
    """command, csv prefix, evidence folder, delay_s (and where it came from), clients."""
    batches: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    history: dict[str, Any]
    evidence: dict[str, Any] | None
    environment: dict[str, Any]


# -- reading ------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        raise UsageError(f"{path} not found: give --csv the PREFIX Locust was run with (locust --csv PREFIX)") from None


def _number(value: str | None) -> float | None:
    try:
        found = float(value) if value not in (None, "", "N/A") else None
    except ValueError:
        return None
    return None if found is None or math.isnan(found) else found


def stats_row(row: dict[str, str]) -> dict[str, Any]:
    """One ``_stats.csv`` row, with the columns this report uses (times in ms)."""
    if "Request Count" not in row or "95%" not in row:
        raise UsageError(f"not a Locust _stats.csv row (columns {sorted(row)}): is this Locust 2.x?")
    return {
        "type": row.get("Type") or "",
        "name": row.get("Name") or "",
        "count": int(_number(row["Request Count"]) or 0),
        "failures": int(_number(row.get("Failure Count")) or 0),
        "median_ms": _number(row.get("50%")),
        "p95_ms": _number(row.get("95%")),
        "p99_ms": _number(row.get("99%")),
        "max_ms": _number(row.get("Max Response Time")),
        "per_s": _number(row.get("Requests/s")),
    }


def read_history(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    rows = [r for r in _read_csv(path) if r.get("Name") == "Aggregated"]
    stamps = [t for r in rows if (t := _number(r.get("Timestamp"))) is not None]
    users = [int(u) for r in rows if (u := _number(r.get("User Count"))) is not None]
    return {
        "duration_s": (max(stamps) - min(stamps)) if stamps else None,
        "peak_users": max(users) if users else None,
        "samples": len(rows),
    }


def read_evidence(folder: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every answer line from every ``*.jsonl`` file in ``folder``, and the files' names."""
    if not folder.is_dir():
        raise UsageError(f"--evidence {str(folder)!r} is not a folder: give the HARNESS_EVIDENCE_DIR the workers used")
    files = sorted(folder.glob("*.jsonl"))
    lines = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                raise UsageError(f"{path}:{number} is not a JSON line (a file cut short?)") from None
    return lines, [p.name for p in files]


def record_of(line: dict[str, Any]) -> RequestRecord:
    """One answer line; a ``Concurrency-Evidence`` header's stamps (the middleware) win over
    the fields the locustfile copied from the body."""
    if isinstance(header := line.get("evidence_header"), str):
        found, problem = parse_evidence_header(header)
        line = line | found if not problem else line | {"error": line.get("error") or f"evidence header: {problem}"}
    return RequestRecord(
        name=str(line.get("name", "")),
        error=line.get("error"),
        status=int(line.get("status") or 0),
        sent_ns=int(line.get("sent_ns") or 0),
        recv_ns=int(line.get("recv_ns") or 0),
        pid=line.get("pid"),
        thread=line.get("thread"),
        enter_ns=line.get("enter_ns"),
        exit_ns=line.get("exit_ns"),
        handler=line.get("handler"),
        peer_port=line.get("peer_port"),
        cpu_enter_ns=line.get("cpu_enter_ns"),
        cpu_exit_ns=line.get("cpu_exit_ns"),
    )


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarize_evidence(lines: list[dict[str, Any]], files: list[str], clients: int) -> dict[str, Any]:
    """What the servers' own stamps say: overall and per batch."""
    by_batch: dict[str, list[RequestRecord]] = {}
    walls: dict[str, float] = {}
    for line in lines:
        key = str(line.get("batch", ""))
        by_batch.setdefault(key, []).append(record_of(line))
        if isinstance(line.get("batch_wall_s"), int | float):
            walls[key] = float(line["batch_wall_s"])
    records = [r for rs in by_batch.values() for r in rs]
    overall = evidence(records)
    per_batch = [max_in_flight([r for r in rs if r.ok]) for rs in by_batch.values()]
    holds = [(r.exit_ns - r.enter_ns) / 1e9 for r in records if r.ok and r.enter_ns is not None and r.exit_ns]
    wall_list = list(walls.values())
    return {
        "files": files,
        "workers": len({key.rsplit("-", 2)[0] for key in by_batch}),
        "answers": len(records),
        "failed_answers": sum(1 for r in records if not r.ok),
        "batches": len(by_batch),
        "max_in_flight": overall.max_in_flight,
        "batch_in_flight_median": statistics.median(per_batch) if per_batch else None,
        "batch_in_flight_min": min(per_batch, default=None),
        "batch_in_flight_max": max(per_batch, default=None),
        "batches_all_in_flight": sum(1 for n in per_batch if n >= clients),
        "processes": overall.processes,
        "threads": overall.threads,
        "hold_median_s": statistics.median(holds) if holds else None,
        "batch_wall_median_s": statistics.median(wall_list) if wall_list else None,
        "batch_wall_p95_s": percentile(wall_list, 0.95),
        "batch_wall_max_s": max(wall_list, default=None),
    }


def batch_size(explicit: int | None, batches: list[dict[str, Any]], lines: list[dict[str, Any]]) -> int:
    if explicit is not None:
        return explicit
    for row in batches:
        if m := re.fullmatch(r"batch of (\d+)", row["name"]):
            return int(m.group(1))
    counts: dict[str, int] = {}
    for line in lines:
        counts[str(line.get("batch"))] = counts.get(str(line.get("batch")), 0) + 1
    return max(counts.values(), default=5)


def build(
    prefix: str,
    *,
    evidence_dir: Path | None,
    delay_s: float | None,
    clients: int | None,
    command: str,
    environment: dict[str, Any],
) -> LocustReport:
    rows = [stats_row(r) for r in _read_csv(Path(prefix + "_stats.csv"))]
    batches = [r for r in rows if r["type"] == BATCH_TYPE]
    requests = [r for r in rows if r["type"] != BATCH_TYPE and r["name"] != "Aggregated"]
    failures_path = Path(prefix + "_failures.csv")
    failures = [
        {"method": r.get("Method", ""), "name": r.get("Name", ""), "error": r.get("Error", ""),
         "occurrences": int(_number(r.get("Occurrences")) or 0)}
        for r in (_read_csv(failures_path) if failures_path.exists() else [])
    ]  # fmt: skip
    lines, files = read_evidence(evidence_dir) if evidence_dir is not None else ([], [])
    n = batch_size(clients, batches, lines)
    found = summarize_evidence(lines, files, n) if evidence_dir is not None else None
    delay_from = "--delay"
    if delay_s is None and found and found["hold_median_s"]:
        delay_s, delay_from = round(found["hold_median_s"], 3), "the handlers' median hold time"
    elif delay_s is None:
        delay_from = "not given"
    for row in batches:
        for key in ("median", "p95", "p99", "max"):
            ms = row[f"{key}_ms"]
            row[f"{key}_ratio"] = ms / 1000 / delay_s if ms is not None and delay_s else None
    settings = {
        "command": command,
        "csv_prefix": prefix,
        "evidence_dir": str(evidence_dir) if evidence_dir is not None else None,
        "delay_s": delay_s,
        "delay_from": delay_from,
        "clients": n,
    }
    history = read_history(Path(prefix + "_stats_history.csv"))
    return LocustReport(settings, batches, requests, failures, history, found, environment)
