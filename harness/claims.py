"""The article's claims and ours beyond it, as data, and the one function that checks them.

Each claim names its server(s), the client(s) whose batches count, the behaviour
expected and, where the claim says *why*, the evidence (one process, N threads,
...). ``check`` turns the pairing summaries into a verdict with the measured
values; it says ``inconclusive`` rather than guess.

A behaviour is a band of the median ratio (wall / D) plus the number of requests
the server held at once; the bands depend on N (clients per batch), the machine's
cores and the kind of work (see ``bands``). A claim is confirmed when every pairing
it names falls in its band; refuted when one falls in another behaviour's band;
inconclusive when one failed, was not measured, or fell between bands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from harness.catalog import Catalog

ARTICLE_CLIENTS = 5
CONCURRENT_MAX_RATIO = 1.5
SERIAL_SLACK = 0.5
"""With waiting handlers a serial batch takes at least N - 0.5 x D."""
CPU_SERIAL_FRACTION = 0.8
"""With CPU work, one call is only about D (calibration, a shared machine): a batch
that runs one handler at a time takes at least 0.8 x N x D."""
PARALLEL_LOW, PARALLEL_SLACK = 0.6, 0.75
"""Parallel up to the cores: between 0.6 x N / cores and ceil(N / cores) + 0.75."""
BOUNDED_SLACK = 0.5

Behaviour = Literal["concurrent", "serial", "interleaved", "parallel", "bounded"]
Count = Literal["one", "N"]
Verdict = Literal["confirmed", "refuted", "inconclusive"]
Work = Literal["wait", "cpu"]


@dataclass(frozen=True)
class Band:
    """A behaviour as numbers: the median ratio's range and the requests held at once."""

    name: str
    label: str
    low: float
    high: float
    in_flight: int

    def holds(self, ratio: float, in_flight: object) -> bool:
        return self.low <= ratio <= self.high and in_flight == self.in_flight


def bands(n: int, cores: int, work: str, capacity: int | None = None) -> dict[str, Band]:
    """The behaviours a pairing can show in this run, by name."""
    if work == "cpu":
        k = min(n, cores)
        par = n / k
        found = {
            "parallel": Band("parallel", f"~{par:.3g} x D (N / cores), {n} in flight",
                             PARALLEL_LOW * par, math.ceil(par) + PARALLEL_SLACK, n),
            "interleaved": Band("interleaved", f"~{n} x D with all {n} in flight (no parallelism)",
                                CPU_SERIAL_FRACTION * n, math.inf, n),
            "serial": Band("serial", f"~{n} x D, 1 in flight", CPU_SERIAL_FRACTION * n, math.inf, 1),
        }  # fmt: skip
    else:
        found = {
            "concurrent": Band("concurrent", f"~1 x D (<= {CONCURRENT_MAX_RATIO}x), {n} in flight", 0.0,
                               CONCURRENT_MAX_RATIO, n),
            "serial": Band("serial", f"~{n} x D (>= {n - SERIAL_SLACK:g}x), 1 in flight", n - SERIAL_SLACK,
                           math.inf, 1),
        }  # fmt: skip
    if capacity:
        batches = math.ceil(n / capacity)
        expected = batches * max(1.0, capacity / cores) if work == "cpu" else batches
        found["bounded"] = Band("bounded", f"~{expected:g} x D (ceil(N / {capacity})), {min(n, capacity)} in flight",
                                expected - BOUNDED_SLACK, expected + BOUNDED_SLACK, min(n, capacity))  # fmt: skip
    return found


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
    work: Work = "wait"
    article: bool = True
    """The article's own claim (C1..C11), or one beyond it (X1..)."""


DJANGO_WSGI = ("django-runserver", "django-nothreading", "gunicorn-default", "gunicorn-threads5", "gunicorn-workers5")

CLAIMS: tuple[Claim, ...] = (
    Claim("C1", "Go net/http serves the five requests concurrently", ("go-nethttp",), "concurrent",
          processes="one", threads="N"),
    Claim("C2", "the Go client's goroutines + WaitGroup issue the five requests concurrently",
          ("go-nethttp",), "concurrent", clients=("go-goroutines",)),
    Claim("C3", "FastAPI `async def` that awaits its wait: concurrent", ("fastapi-async",), "concurrent",
          processes="one", threads="one"),
    Claim("C4", "FastAPI plain `def`: concurrent through the threadpool", ("fastapi-def",), "concurrent",
          processes="one", threads="N"),
    Claim("C5", "FastAPI `async def` that blocks (time.sleep) blocks the server", ("fastapi-async-blocking",),
          "serial"),
    Claim("C6", "Django `runserver` (threaded default): concurrent with a plain `def` view",
          ("django-runserver",), "concurrent", processes="one", threads="N"),
    Claim("C7", "Django `runserver --nothreading`: serial", ("django-nothreading",), "serial"),
    Claim("C8", "gunicorn defaults (1 sync worker, 1 thread): serial", ("gunicorn-default",), "serial"),
    Claim("C9", "gunicorn `-w 1 --threads 5`: concurrent", ("gunicorn-threads5",), "concurrent",
          processes="one", threads="N"),
    Claim("C10", "gunicorn `-w 5`: concurrent", ("gunicorn-workers5",), "concurrent", processes="N"),
    Claim("C11", "the same Django view is serial or concurrent depending only on how it is served",
          DJANGO_WSGI, depends=("C6", "C7", "C8", "C9", "C10"), same_handler=True),
    # Beyond the article. With CPU work, concurrency is not parallelism.
    Claim("X1", "with CPU work, Python threads take turns (the GIL): all N in flight, no parallelism",
          ("fastapi-def", "django-runserver", "gunicorn-threads5"), "interleaved", threads="N", work="cpu",
          article=False),
    Claim("X2", "with CPU work, an `async def` handler blocks its event loop: one at a time",
          ("fastapi-async", "django-asgi-async"), "serial", work="cpu", article=False),
    Claim("X3", "with CPU work, sync worker processes run handlers in parallel, up to the cores",
          ("gunicorn-workers5",), "parallel", processes="N", work="cpu", article=False),
    Claim("X4", "with CPU work, async worker processes run handlers in parallel, up to the cores",
          ("uvicorn-workers5", "gunicorn-uvicorn5"), "parallel", work="cpu", article=False),
    Claim("X5", "with CPU work, Go runs handlers in parallel, up to the cores", ("go-nethttp",), "parallel",
          processes="one", threads="N", work="cpu", article=False),
    Claim("X6", "with CPU work, a semaphore bounds Go's handlers: ceil(N / k) rounds",
          ("go-bounded",), "bounded", work="cpu", article=False),
    # Beyond the article: the setups people deploy, waiting as in the article.
    Claim("X7", "uvicorn `--workers 5` (async app): concurrent", ("uvicorn-workers5",), "concurrent", article=False),
    Claim("X8", "gunicorn with uvicorn workers (`-k uvicorn_worker.UvicornWorker -w 5`): concurrent",
          ("gunicorn-uvicorn5",), "concurrent", article=False),
    Claim("X9", "Django `async def` view that awaits, under uvicorn (ASGI): concurrent in one thread",
          ("django-asgi-async",), "concurrent", processes="one", threads="one", article=False),
    Claim("X10", "a semaphore of k bounds Go's net/http to k requests at a time: ceil(N / k) x D",
          ("go-bounded",), "bounded", article=False),
)  # fmt: skip


@dataclass(frozen=True)
class ClaimResult:
    id: str
    text: str
    expected: str
    measured: str
    verdict: Verdict
    work: str = "wait"
    article: bool = True


def _count(kind: Count, n: int) -> int:
    return 1 if kind == "one" else n


@dataclass(frozen=True)
class Context:
    """What a verdict depends on besides the measurements."""

    n: int
    cores: int
    work: str
    catalog: Catalog
    call_s: Mapping[str, float] | None = None
    """With CPU work, what one call takes, per language ("python", "go"); a server's
    bands are scaled by its language's call time over D. One call is only about D,
    and the calibration's own timing can be far off (measured: 0.514 s per call for
    D = 0.3 s while the run's calls took 0.30 s), so the run's solo calls
    (``stats.solo_call_s``) come first and the calibration only stands in. Tried and
    dropped: one server's sequential-client requests, which on gunicorn read 0.80 s
    for calls that took 0.49 s back to back."""
    delay_s: float = 0.0

    def scale(self, server: str) -> float:
        if self.work != "cpu" or not self.call_s or self.delay_s <= 0:
            return 1.0
        spec = self.catalog.servers_by_name.get(server)
        language = "go" if spec is not None and spec.needs_go else "python"
        return (self.call_s.get(language) or self.delay_s) / self.delay_s

    def bands_for(self, server: str) -> dict[str, Band]:
        spec = self.catalog.servers_by_name.get(server)
        found = bands(self.n, self.cores, self.work, spec.capacity if spec else None)
        f = self.scale(server)
        if f == 1.0:
            return found
        return {
            k: Band(b.name, f"{b.label}, one call = {f:.2f} D", b.low * f, b.high * f, b.in_flight)
            for k, b in found.items()
        }

    @classmethod
    def of(
        cls,
        settings: Mapping[str, Any],
        environment: Mapping[str, Any],
        catalog: Catalog,
        solo_call_s: Mapping[str, float] | None = None,
    ) -> Context:
        """The context of a run: its settings, environment and, for CPU work, the
        solo call times it measured (which win over the calibration)."""
        cal = settings.get("calibration") or {}
        calls = {"python": cal.get("python_call_s", 0.0), "go": cal.get("go_call_s", 0.0), **(solo_call_s or {})}
        return cls(
            n=settings["clients"],
            cores=environment["cores"],
            work=settings.get("work", "wait"),
            catalog=catalog,
            call_s={k: v for k, v in calls.items() if v},
            delay_s=settings["delay_s"],
        )


def expected_text(claim: Claim, ctx: Context) -> str:
    if claim.expect is None:
        return f"{', '.join(claim.depends)} all confirmed, one handler"
    parts = [ctx.bands_for(claim.servers[0])[claim.expect].label]
    if claim.processes:
        parts.append(f"{_count(claim.processes, ctx.n)} process(es)")
    if claim.threads:
        parts.append(f"{_count(claim.threads, ctx.n)} thread(s)")
    return ", ".join(parts)


def behaviour(row: Mapping[str, object], ctx: Context) -> str:
    """The band a pairing row falls in (``failed``, or ``in between`` for none)."""
    ratio = row.get("ratio_median")
    if row.get("status") != "ok" or not isinstance(ratio, float) or math.isnan(ratio):
        return "failed"
    for name, band in ctx.bands_for(str(row.get("server"))).items():
        if band.holds(ratio, row.get("max_in_flight")):
            return name
    return "in between"


def _values(rows: pd.DataFrame, column: str) -> list[int]:
    return sorted({int(v) for v in rows[column] if not pd.isna(v)})


def _check_one(claim: Claim, pairings: pd.DataFrame, ctx: Context) -> tuple[Verdict, str]:
    rows = pairings[pairings["server"].isin(claim.servers)]
    rows = rows[rows["client"].isin(claim.clients)] if claim.clients is not None else rows[rows["client_concurrent"]]
    if rows.empty:
        return "inconclusive", f"not measured: run with --servers {','.join(claim.servers)}"
    measured, seen = [], []
    for _, row in rows.iterrows():
        expected = ctx.bands_for(row["server"])[claim.expect or "concurrent"]
        name = behaviour(row, ctx)
        ok = name != "failed" and expected.holds(row["ratio_median"], row["max_in_flight"])
        seen.append("match" if ok else ("failed" if name == "failed" else ("other" if name != "in between" else "gap")))
        prefix = f"{row['server']} " if len(claim.servers) > 1 else ""
        value = "failed" if name == "failed" else f"{row['ratio_median']:.2f}x"
        measured.append(f"{prefix}{row['client']} {value}")
    verdict: Verdict
    if "other" in seen:
        verdict = "refuted"
    elif all(s == "match" for s in seen):
        verdict = "confirmed"
    else:
        verdict = "inconclusive"
    evidence = []
    for label, kind in (("max_in_flight", None), ("processes", claim.processes), ("threads", claim.threads)):
        values = _values(rows, label)
        if not values:
            continue
        evidence.append(f"{label.replace('max_in_flight', 'in flight')} {'/'.join(map(str, values))}")
        if kind and verdict == "confirmed" and values != [_count(kind, ctx.n)]:
            verdict = "refuted"
    return verdict, "; ".join([", ".join(measured), *evidence])


def applicable(claim: Claim, work: str, servers: set[str]) -> bool:
    """The run's kind of work, and for claims beyond the article, a server it ran."""
    if claim.work != work:
        return False
    return claim.article or bool(servers & set(claim.servers))


def check(
    pairings: pd.DataFrame,
    handlers: Mapping[str, set[str]],
    ctx: Context,
) -> list[ClaimResult]:
    """Verdicts for the claims that apply to this run. ``pairings`` needs ``client_concurrent``."""
    results: dict[str, ClaimResult] = {}
    servers = set(pairings["server"])
    for claim in CLAIMS:
        if not applicable(claim, ctx.work, servers):
            continue
        expected = expected_text(claim, ctx)
        if ctx.n != ARTICLE_CLIENTS:
            verdict: Verdict = "inconclusive"
            measured = f"the claims are about {ARTICLE_CLIENTS} clients; this run used {ctx.n}"
        elif claim.depends:
            verdict, measured = _check_composite(claim, results, handlers)
        else:
            verdict, measured = _check_one(claim, pairings, ctx)
        results[claim.id] = ClaimResult(claim.id, claim.text, expected, measured, verdict, claim.work, claim.article)
    return list(results.values())


def claims_for(server: str) -> list[str]:
    """Ids of the claims that name ``server``."""
    return [c.id for c in CLAIMS if server in c.servers]


def not_checked(work: str, servers: set[str]) -> list[str]:
    """Ids of claims this run cannot check, for the report to say how to check them."""
    return [c.id for c in CLAIMS if not applicable(c, work, servers)]


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
