"""The article's claims as data, and the one function that checks them.

Each claim names its server(s), the client(s) whose batches count, the behaviour
the article expects and, where the article says *why*, the evidence (one process,
N threads, ...). ``check`` turns the pairing summaries into a verdict with the
measured values; it says ``inconclusive`` rather than guess.

Thresholds (N = clients per batch): a pairing is *concurrent* when its median
ratio is at most ``CONCURRENT_MAX_RATIO`` and the server held all N requests at
once; *serial* when its median ratio is at least N - ``SERIAL_SLACK`` and the
server never held more than one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd

ARTICLE_CLIENTS = 5
CONCURRENT_MAX_RATIO = 1.5
SERIAL_SLACK = 0.5

Behaviour = Literal["concurrent", "serial"]
Count = Literal["one", "N"]
Verdict = Literal["confirmed", "refuted", "inconclusive"]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    servers: tuple[str, ...] = ()
    expect: Behaviour | None = None
    clients: tuple[str, ...] | None = None
    """Clients whose batches count; ``None``: every client that sends at once."""
    processes: Count | None = None
    threads: Count | None = None
    depends: tuple[str, ...] = ()
    same_handler: bool = False
    """The servers must have run one and the same handler (C11)."""


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "C1",
        "Go net/http serves the five requests concurrently",
        ("go-nethttp",),
        "concurrent",
        processes="one",
        threads="N",
    ),
    Claim(
        "C2",
        "the Go client's goroutines + WaitGroup issue the five requests concurrently",
        ("go-nethttp",),
        "concurrent",
        clients=("go-goroutines",),
    ),
    Claim(
        "C3",
        "FastAPI `async def` that awaits its wait: concurrent",
        ("fastapi-async",),
        "concurrent",
        processes="one",
        threads="one",
    ),
    Claim(
        "C4",
        "FastAPI plain `def`: concurrent through the threadpool",
        ("fastapi-def",),
        "concurrent",
        processes="one",
        threads="N",
    ),
    Claim(
        "C5", "FastAPI `async def` that blocks (time.sleep) blocks the server", ("fastapi-async-blocking",), "serial"
    ),
    Claim(
        "C6",
        "Django `runserver` (threaded default): concurrent with a plain `def` view",
        ("django-runserver",),
        "concurrent",
        processes="one",
        threads="N",
    ),
    Claim("C7", "Django `runserver --nothreading`: serial", ("django-nothreading",), "serial"),
    Claim("C8", "gunicorn defaults (1 sync worker, 1 thread): serial", ("gunicorn-default",), "serial"),
    Claim(
        "C9",
        "gunicorn `-w 1 --threads 5`: concurrent",
        ("gunicorn-threads5",),
        "concurrent",
        processes="one",
        threads="N",
    ),
    Claim("C10", "gunicorn `-w 5`: concurrent", ("gunicorn-workers5",), "concurrent", processes="N"),
    Claim(
        "C11",
        "the same Django view is serial or concurrent depending only on how it is served",
        ("django-runserver", "django-nothreading", "gunicorn-default", "gunicorn-threads5", "gunicorn-workers5"),
        depends=("C6", "C7", "C8", "C9", "C10"),
        same_handler=True,
    ),
)


@dataclass(frozen=True)
class ClaimResult:
    id: str
    text: str
    expected: str
    measured: str
    verdict: Verdict


def _count(kind: Count, n: int) -> int:
    return 1 if kind == "one" else n


def expected_text(claim: Claim, n: int) -> str:
    if claim.expect is None:
        return f"{', '.join(claim.depends)} all confirmed, one handler"
    parts = [
        f"~1 x D (<= {CONCURRENT_MAX_RATIO}x), {n} in flight"
        if claim.expect == "concurrent"
        else f"~{n} x D (>= {n - SERIAL_SLACK:g}x), 1 in flight"
    ]
    if claim.processes:
        parts.append(f"{_count(claim.processes, n)} process(es)")
    if claim.threads:
        parts.append(f"{_count(claim.threads, n)} thread(s)")
    return ", ".join(parts)


def behaviour(row: Mapping[str, object], n: int) -> str:
    """``concurrent``, ``serial``, ``in between`` or ``failed`` for one pairing row."""
    ratio = row.get("ratio_median")
    if row.get("status") != "ok" or not isinstance(ratio, float) or math.isnan(ratio):
        return "failed"
    if ratio <= CONCURRENT_MAX_RATIO and row.get("max_in_flight") == n:
        return "concurrent"
    if ratio >= n - SERIAL_SLACK and row.get("max_in_flight") == 1:
        return "serial"
    return "in between"


def _values(rows: pd.DataFrame, column: str) -> list[int]:
    return sorted({int(v) for v in rows[column] if not pd.isna(v)})


def _check_one(claim: Claim, pairings: pd.DataFrame, n: int) -> tuple[Verdict, str]:
    rows = pairings[pairings["server"].isin(claim.servers)]
    rows = rows[rows["client"].isin(claim.clients)] if claim.clients is not None else rows[rows["client_concurrent"]]
    if rows.empty:
        return "inconclusive", f"not measured: run with --servers {','.join(claim.servers)}"
    seen = [behaviour(row, n) for _, row in rows.iterrows()]
    measured = [
        f"{row['client']} {'failed' if s == 'failed' else format(row['ratio_median'], '.2f') + 'x'}"
        for s, (_, row) in zip(seen, rows.iterrows(), strict=False)
    ]
    verdict: Verdict
    if any(s in ("concurrent", "serial") and s != claim.expect for s in seen):
        verdict = "refuted"
    elif all(s == claim.expect for s in seen):
        verdict = "confirmed"
    else:
        verdict = "inconclusive"
    evidence = []
    for label, kind in (("max_in_flight", None), ("processes", claim.processes), ("threads", claim.threads)):
        values = _values(rows, label)
        if not values:
            continue
        evidence.append(f"{label.replace('max_in_flight', 'in flight')} {'/'.join(map(str, values))}")
        if kind and verdict == "confirmed" and values != [_count(kind, n)]:
            verdict = "refuted"
    return verdict, "; ".join([", ".join(measured), *evidence])


def check(pairings: pd.DataFrame, handlers: Mapping[str, set[str]], n: int) -> list[ClaimResult]:
    """Verdicts for every claim. ``pairings`` needs a ``client_concurrent`` column."""
    results: dict[str, ClaimResult] = {}
    for claim in CLAIMS:
        expected = expected_text(claim, n)
        if n != ARTICLE_CLIENTS:
            verdict: Verdict = "inconclusive"
            measured = f"the article's claims are about {ARTICLE_CLIENTS} clients; this run used {n}"
        elif claim.depends:
            verdict, measured = _check_composite(claim, results, handlers)
        else:
            verdict, measured = _check_one(claim, pairings, n)
        results[claim.id] = ClaimResult(claim.id, claim.text, expected, measured, verdict)
    return list(results.values())


def _check_composite(
    claim: Claim, done: Mapping[str, ClaimResult], handlers: Mapping[str, set[str]]
) -> tuple[Verdict, str]:
    verdicts = {d: done[d].verdict for d in claim.depends}
    seen = set().union(*(handlers.get(s, set()) for s in claim.servers))
    measured = ", ".join(f"{d} {v}" for d, v in verdicts.items())
    measured += f"; handler(s) seen: {', '.join(sorted(seen)) or 'none'}"
    if "refuted" in verdicts.values() or (claim.same_handler and len(seen) > 1):
        return "refuted", measured
    if all(v == "confirmed" for v in verdicts.values()) and len(seen) == 1:
        return "confirmed", measured
    return "inconclusive", measured
