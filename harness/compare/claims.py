"""The article's claims and ours beyond it, as data, and the one function that checks them.

Each claim states the behaviour expected and, where the claim says *why*, the
evidence (one process, N threads, ...). It names no server or client: catalog
entries declare the claims they test (``ServerSpec.claims``, ``ClientSpec.claims``)
and ``servers_for`` / ``clients_for`` find them, so a new entry joins a claim by
declaring it. A server that declares no waiting-work claim (one from a ``--catalog``
file, say) still gets a verdict: the generic claim ``G1`` holds it to its declared
capacity. ``check`` turns the pairing summaries into a verdict with the measured
values; it says ``inconclusive`` rather than guess.

Waiting handlers: a behaviour is a band of the median ratio (wall / D) plus the
number of requests the server held at once (see ``bands``); the bands are wide
(<= 1.5x against >= N - 0.5x) and do not move with the machine's speed.

CPU work: one call takes only about D, and this machine's speed moves by half from
one process or moment to the next, so a ratio cannot judge. The verdict rests on
server-side evidence measured in the same batch: how many requests were in flight
and ``parallelism`` (the serving processes' CPU seconds over the batch's wall
seconds, see ``evidence``). The ratio, read against the server's own solo calls of
this run, is shown beside it as supporting detail. Parallelism needs two usable
cores to show: on one, claims about it are *inconclusive (1 usable core)*.

A claim is confirmed when every server (and declared client) it names was measured
and every such pairing shows the expected behaviour; refuted when one shows another
(even beside another client's *D too small*); inconclusive when one failed, was not
measured (``not measured: X, Y``), or fell between behaviours; *D too small* when D is under ``DISPATCH_FLOOR`` times
the time the client needs to get its N requests into handlers (then no ratio can
show concurrency, and nothing is refuted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from harness.compare.stats import REJECT_AT_ONCE_D
from harness.core.catalog import Catalog
from harness.core.claims import CLAIMS, CLAIMS_BY_ID, WAIT_CLAIMS, Claim, Count
from harness.core.frames import Row, number
from harness.core.thresholds import CONCURRENT_MAX_RATIO, GIL_MAX_PARALLELISM

ARTICLE_CLIENTS = 5
SERIAL_SLACK = 0.5
"""With waiting handlers a serial batch takes at least N - 0.5 x D."""
CPU_SERIAL_FRACTION = 0.8
"""With CPU work, one call is only about D (calibration, a shared machine): a batch
that runs one handler at a time takes at least 0.8 x N x D."""
PARALLEL_LOW, PARALLEL_SLACK = 0.6, 0.75
"""Parallel up to the cores: between 0.6 x N / cores and ceil(N / cores) + 0.75."""
BOUNDED_SLACK = 0.5
PARALLEL_GAIN = 0.5
"""Parallel means at least 1 + 0.5 x (usable cores - 1) cores' worth (1.5 on two
cores): half of what the cores could add, since the client and the machine's
other tenants share them."""
OTHER_LOAD_MAX = 0.5
"""When the rest of the machine (other processes, a hypervisor's steal) kept more than
half a core busy during the batches, a server that did not reach parallel may just
not have been given the cores: then it is *in between*, never a refutation."""
DISPATCH_FLOOR = 5.0
"""D must be at least this many times a client's dispatch spread (first send to
last handler entry); below it, a concurrent server cannot show 1 x D."""

Verdict = Literal["confirmed", "refuted", "inconclusive", "inconclusive (1 usable core)", "D too small"]
ONE_CORE: Verdict = "inconclusive (1 usable core)"
"""What a claim about parallelism says when only one core is usable."""


def parallel_min(n: int, cores: int) -> float:
    """The least parallelism that counts as running in parallel, for N requests on these cores."""
    return 1 + PARALLEL_GAIN * (min(n, cores) - 1)


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


def servers_for(claim: Claim | str, catalog: Catalog, ran: set[str] | None = None) -> tuple[str, ...]:
    """The catalog's servers a claim is about, in catalog order: those that declare it,
    or for the generic claim, those that declare no waiting-work claim (of ``ran``, if given)."""
    claim = claim if isinstance(claim, Claim) else CLAIMS_BY_ID[claim]
    if claim.generic:
        return tuple(s.name for s in catalog.servers
                     if not set(s.claims) & WAIT_CLAIMS and (ran is None or s.name in ran))  # fmt: skip
    return tuple(s.name for s in catalog.servers if claim.id in s.claims)


def clients_for(claim: Claim | str, catalog: Catalog) -> tuple[str, ...] | None:
    """The clients whose batches count: those that declare the claim, else ``None``
    (every client that sends at once)."""
    claim_id = claim.id if isinstance(claim, Claim) else claim
    return tuple(c.name for c in catalog.clients if claim_id in c.claims) or None


def expected_behaviour(claim: Claim, server: str, ctx: Context) -> str:
    """The behaviour a claim expects of one of its servers."""
    if not claim.generic:
        return claim.expect or "concurrent"
    k = ctx.capacity(server)
    if k is None or k >= ctx.n:
        return "concurrent"
    return "serial" if k == 1 else "bounded"


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
    """With CPU work, one call per language ("python", "go"): this run's solo calls
    pooled over the language's servers, or else the calibration."""
    delay_s: float = 0.0
    server_call_s: Mapping[str, float] | None = None
    """With CPU work, one call per server: the median handler time of its requests
    that ran alone in this run. Ratios are read against it first."""
    dispatch_s: Mapping[str, float] | None = None
    """Per concurrent client, the time it needed from its first send to its last
    handler entry, on servers that can hold all N at once (``client_dispatch_s``)."""
    http: str = "1.1"
    """The run's ``--http``: an HTTP/2 claim (``Claim.http``) is judged only on an HTTP/2 run."""

    def scale(self, server: str) -> float:
        """One call of this server over D: what a CPU-work ratio is read against."""
        if self.work != "cpu" or self.delay_s <= 0:
            return 1.0
        if self.server_call_s and server in self.server_call_s:
            return self.server_call_s[server] / self.delay_s
        spec = self.catalog.servers_by_name.get(server)
        language = "go" if spec is not None and spec.needs_go else "python"
        return ((self.call_s or {}).get(language) or self.delay_s) / self.delay_s

    def capacity(self, server: str) -> int | None:
        spec = self.catalog.servers_by_name.get(server)
        return spec.capacity if spec else None

    def bands_for(self, server: str) -> dict[str, Band]:
        found = bands(self.n, self.cores, self.work, self.capacity(server))
        f = self.scale(server)
        if f == 1.0:
            return found
        return {
            k: Band(b.name, f"{b.label}, one call = {f:.2f} D", b.low * f, b.high * f, b.in_flight)
            for k, b in found.items()
        }

    def too_small(self, client: str) -> bool:
        """Whether D is too small for this client to show concurrency."""
        spread = (self.dispatch_s or {}).get(client)
        return spread is not None and self.delay_s < DISPATCH_FLOOR * spread

    def too_small_for(self, row: Row) -> bool:
        """Whether this pairing's D was too small for its client (a concurrent one)."""
        return self.too_small(str(row.get("client")))

    def needed_delay_s(self) -> float | None:
        """The smallest D that every concurrent client of this run can show (2 significant digits, up)."""
        spreads = list((self.dispatch_s or {}).values())
        if not spreads:
            return None
        need = DISPATCH_FLOOR * max(spreads)
        step = 10 ** (math.floor(math.log10(need)) - 1)
        return math.ceil(need / step) * step

    @classmethod
    def of(
        cls,
        settings: Mapping[str, Any],
        environment: Mapping[str, Any],
        catalog: Catalog,
        solo_call_s: Mapping[str, float] | None = None,
        *,
        server_call_s: Mapping[str, float] | None = None,
        dispatch_s: Mapping[str, float] | None = None,
    ) -> Context:
        """The context of a run: its settings, environment and what it measured of
        one call (CPU work) and of each client's dispatch."""
        cal = settings.get("calibration") or {}
        calls = {"python": cal.get("python_call_s", 0.0), "go": cal.get("go_call_s", 0.0), **(solo_call_s or {})}
        return cls(
            n=settings["clients"],
            cores=environment["cores"],
            work=settings.get("work", "wait"),
            catalog=catalog,
            call_s={k: v for k, v in calls.items() if v},
            delay_s=settings["delay_s"],
            server_call_s=dict(server_call_s or {}),
            dispatch_s=dict(dispatch_s or {}),
            http=str(settings.get("http", "1.1")),
        )


def client_dispatch_s(pairings: pd.DataFrame, catalog: Catalog, n: int, work: str = "wait") -> dict[str, float]:
    """Per concurrent client, its dispatch spread in this run: the smallest median
    (first send to last handler entry) over servers declared to hold all N at once,
    so no server queue is in it. Clients with no such pairing are left out.

    With CPU work a handler also enters late because the others are computing on
    the same cores, which is the server's doing, not the client's: there the spread
    is the client's own, from its first send to its last (``send_spread_s``)."""
    column = "send_spread_s" if work == "cpu" else "dispatch_s"
    if column not in pairings:
        return {}
    found: dict[str, float] = {}
    for _, row in pairings.iterrows():
        spec = catalog.servers_by_name.get(row["server"])
        clients = catalog.clients_by_name
        if spec is None or (spec.capacity is not None and spec.capacity < n):
            continue
        if row["client"] not in clients or not clients[row["client"]].concurrent:
            continue
        spread = row.get(column)
        if isinstance(spread, float) and not math.isnan(spread):
            found[row["client"]] = min(found.get(row["client"], math.inf), spread)
    return found


def expected_text(claim: Claim, ctx: Context, servers: tuple[str, ...]) -> str:
    if claim.generic:
        return "; ".join(f"{s}: {ctx.bands_for(s)[expected_behaviour(claim, s, ctx)].label}" for s in servers)
    if claim.expect is None:
        return f"{', '.join(claim.depends)} all confirmed, one handler"
    first = servers[0] if servers else ""
    if claim.expect == "rejecting":
        k = ctx.capacity(first)
        parts = [
            f"at N > k = {k}: per batch {k} served in about D and {max(0, ctx.n - (k or 0))} answered 503 at once "
            f"(within {REJECT_AT_ONCE_D:g} x D), none failed, at most {k} in flight"
        ]
    elif ctx.work == "cpu":
        parts = [cpu_expectation(claim.expect, ctx, ctx.capacity(first))]
    else:
        parts = [ctx.bands_for(first)[claim.expect].label]
    if claim.processes:
        parts.append(f"{_count(claim.processes, ctx.n)} process(es)")
    if claim.threads:
        parts.append(f"{_count(claim.threads, ctx.n)} thread(s)")
    return ", ".join(parts)


def cpu_expectation(expect: str, ctx: Context, capacity: int | None) -> str:
    """A CPU-work behaviour in words: the evidence that decides it, then the ratio it implies."""
    n, cores = ctx.n, ctx.cores
    if expect == "interleaved":
        return f"all {n} in flight, parallelism <= {GIL_MAX_PARALLELISM:g} (one core's worth; ~{n} calls)"
    if expect == "parallel":
        return (f"all {n} in flight, parallelism >= {parallel_min(n, cores):.3g} of {cores} usable cores "
                f"(~{n / min(n, cores):.3g} calls)")  # fmt: skip
    if expect == "bounded" and capacity:
        return f"{min(n, capacity)} in flight (~{math.ceil(n / capacity)} rounds)"
    return f"1 in flight (~{n} calls)"


def _number(value: object) -> float | None:
    """``frames.number``, but a bool is no measurement."""
    return None if isinstance(value, bool) else number(value)


def cpu_behaviour(row: Row, ctx: Context) -> str:
    """The behaviour a CPU-work pairing shows, from in-flight counts and parallelism."""
    in_flight = _number(row.get("max_in_flight"))
    par = _number(row.get("parallelism"))
    capacity = ctx.capacity(str(row.get("server")))
    if in_flight == 1:
        return "serial"
    if capacity is not None and capacity < ctx.n and in_flight == capacity:
        return "bounded"
    if in_flight == ctx.n:
        if par is None:
            return "in between"
        if ctx.cores < 2:
            return "concurrent"  # all held at once; one core cannot tell parallel from interleaved
        if par >= parallel_min(ctx.n, ctx.cores):
            return "parallel"
        other = _number(row.get("other_load"))
        if other is not None and other > OTHER_LOAD_MAX:
            return "in between"  # the rest of the machine took the cores: no telling what the server would do
        if par <= GIL_MAX_PARALLELISM and _number(row.get("processes")) == 1:
            return "interleaved"
    return "in between"


def rejecting_behaviour(row: Row, ctx: Context) -> str:
    """A pairing that turned requests away: ``rejecting`` only when every counted batch
    served exactly k (the declared capacity, at most N) in about D and rejected the other
    N - k at once (``stats.turned_away``), none failed and at most k were in flight.
    Everything rejected is ``rejecting all`` (it refutes: nothing was served); any other
    split is ``rejecting other than k``, a pairing without the per-batch counts
    ``in between``."""
    capacity = ctx.capacity(str(row.get("server")))
    low, high = _number(row.get("served_min")), _number(row.get("served_max"))
    if high == 0:
        return "rejecting all"
    if capacity is None or low is None or high is None:
        return "in between"
    k = min(capacity, ctx.n)
    in_flight = _number(row.get("max_in_flight"))
    as_declared = (
        low == high == k
        and not _number(row.get("failed_requests"))
        and not _number(row.get("rejected_late"))
        and not _number(row.get("served_fast"))
        and (in_flight is None or in_flight <= k)
    )
    return "rejecting" if as_declared else "rejecting other than k"


def behaviour(row: Row, ctx: Context) -> str:
    """The behaviour a pairing row shows (``failed``, ``D too small`` or ``in between`` for none)."""
    ratio = row.get("ratio_median")
    if row.get("status") != "ok" or not isinstance(ratio, float) or math.isnan(ratio):
        return "failed"
    if ctx.too_small_for(row):
        return "D too small"
    if _number(row.get("rejected")):
        return rejecting_behaviour(row, ctx)
    if ctx.work == "cpu":
        return cpu_behaviour(row, ctx)
    if _number(row.get("max_in_flight")) is None:
        return "no evidence"  # a --target that gives no evidence fields: the ratio alone decides nothing
    for name, band in ctx.bands_for(str(row.get("server"))).items():
        if band.holds(ratio, row.get("max_in_flight")):
            return name
    return "in between"


def _values(rows: pd.DataFrame, column: str) -> list[int]:
    return sorted({int(v) for v in rows[column] if not pd.isna(v)})


PARALLELISM_CLAIMS = ("parallel", "interleaved")
"""Behaviours that only two usable cores can tell apart."""


def _check_one(claim: Claim, pairings: pd.DataFrame, ctx: Context, servers: tuple[str, ...]) -> tuple[Verdict, str]:
    clients = clients_for(claim, ctx.catalog)
    rows = pairings[pairings["server"].isin(servers)]
    rows = rows[rows["client"].isin(clients)] if clients is not None else rows[rows["client_concurrent"]]
    if rows.empty:
        return "inconclusive", f"not measured: run with --servers {','.join(servers)}"
    missing = unmeasured(rows, servers, clients)
    measured, seen = [], []
    for _, row in rows.iterrows():
        name = behaviour(row, ctx)
        kind = {"failed": "failed", "D too small": "small", "in between": "gap"}.get(name, "other")
        if name == expected_behaviour(claim, str(row["server"]), ctx):
            kind = "match"
        elif claim.spread and kind == "other" and (number(row.get("processes")) or 0) < 2:
            kind = "gap"  # every request went to one worker: the kernel's pick, no test of the workers
        seen.append(kind)
        prefix = f"{row['server']} " if len(servers) > 1 else ""
        value = "failed" if name == "failed" else f"{row['ratio_median']:.2f}x"
        if ctx.work == "cpu" and name != "failed":
            value += f" ({row['ratio_median'] / ctx.scale(row['server']):.2f} calls)"
        measured.append(f"{prefix}{row['client']} {value}")
    verdict: Verdict
    if "other" in seen:  # one client's clear refutation stands, whatever D was for another
        verdict = "refuted"
    elif "small" in seen:
        verdict = "D too small"
    elif all(s == "match" for s in seen) and not missing:
        verdict = "confirmed"
    else:
        verdict = "inconclusive"
    if ctx.work == "cpu" and claim.expect in PARALLELISM_CLAIMS and ctx.cores < 2 and verdict != "D too small":
        verdict = ONE_CORE
    evidence = []
    for label, count in (("max_in_flight", None), ("processes", claim.processes), ("threads", claim.threads)):
        values = _values(rows, label)
        if not values:
            continue
        evidence.append(f"{label.replace('max_in_flight', 'in flight')} {'/'.join(map(str, values))}")
        if count and verdict == "confirmed" and values != [_count(count, ctx.n)]:
            verdict = "refuted"
    if claim.expect == "rejecting":
        evidence.append(rejection_text(rows, ctx))
    if ctx.work == "cpu" and "parallelism" in rows:
        found = [f"{v:.2f}" for v in rows["parallelism"] if _number(v) is not None]
        if found:
            evidence.append(f"parallelism {'/'.join(found)}")
    if verdict == "D too small":
        small = sorted({str(r["client"]) for _, r in rows.iterrows() if ctx.too_small_for(r)})
        spreads = ", ".join(f"{c} {(ctx.dispatch_s or {})[c] * 1e3:.1f} ms" for c in small)
        evidence.append(f"D too small for {', '.join(small)} (dispatch spread {spreads}; D >= "
                        f"{DISPATCH_FLOOR:g} x that: use --delay {ctx.needed_delay_s():g} or more)")  # fmt: skip
    if missing:  # a claim about several setups is not confirmed by some of them
        evidence.insert(0, f"not measured: {', '.join(missing)}")
    return verdict, "; ".join([", ".join(measured), *evidence])


def unmeasured(rows: pd.DataFrame, servers: tuple[str, ...], clients: tuple[str, ...] | None) -> list[str]:
    """The servers (and declared clients) a claim names that have no pairing in ``rows``:
    a claim over several is confirmed only when every one of them was measured."""
    missing = [s for s in servers if s not in set(rows["server"])]
    return missing + [c for c in clients or () if c not in set(rows["client"])]


def rejection_text(rows: pd.DataFrame, ctx: Context) -> str:
    """Per pairing, how its batches split: ``k served + N-k rejected per batch`` (a range
    when the batches differ), and any rejection that came late or service that came fast."""
    parts = []
    for _, r in rows.iterrows():
        low, high = _number(r.get("served_min")), _number(r.get("served_max"))
        if low is None or high is None:
            continue
        served = f"{int(low)}" if low == high else f"{int(low)}-{int(high)}"
        turned = f"{ctx.n - int(high)}" if low == high else f"{ctx.n - int(high)}-{ctx.n - int(low)}"
        text = f"{r['client']} {served} served + {turned} rejected per batch"
        late, fast = _number(r.get("rejected_late")) or 0, _number(r.get("served_fast")) or 0
        if late:
            text += f" ({int(late)} rejected later than {REJECT_AT_ONCE_D:g} x D)"
        if fast:
            text += f" ({int(fast)} served in under {REJECT_AT_ONCE_D:g} x D)"
        parts.append(text)
    return ", ".join(parts) if parts else "no per-batch served/rejected counts"


def applicable(claim: Claim, work: str, servers: set[str], catalog: Catalog) -> bool:
    """The run's kind of work, and for claims beyond the article, a server it ran."""
    if claim.work != work:
        return False
    return claim.article or bool(servers & set(servers_for(claim, catalog)))


def check(
    pairings: pd.DataFrame,
    handlers: Mapping[str, set[str]],
    ctx: Context,
) -> list[ClaimResult]:
    """Verdicts for the claims that apply to this run. ``pairings`` needs ``client_concurrent``."""
    results: dict[str, ClaimResult] = {}
    servers = set(pairings["server"])
    for claim in CLAIMS:
        if not applicable(claim, ctx.work, servers, ctx.catalog) or claim.http != ctx.http:
            continue
        # the generic claim is about the servers of this run; the others about all that declare them
        about = servers_for(claim, ctx.catalog, servers if claim.generic else None)
        expected = expected_text(claim, ctx, about)
        if ctx.n != ARTICLE_CLIENTS and not (claim.generic or claim.any_n):
            verdict: Verdict = "inconclusive"
            measured = f"the claims are about {ARTICLE_CLIENTS} clients; this run used {ctx.n}"
        elif claim.depends:
            verdict, measured = _check_composite(claim, results, handlers, about)
        else:
            verdict, measured = _check_one(claim, pairings, ctx, about)
        results[claim.id] = ClaimResult(claim.id, claim.text, expected, measured, verdict, claim.work, claim.article)
    return list(results.values())


def not_checked(work: str, servers: set[str], catalog: Catalog) -> list[str]:
    """Ids of claims this run cannot check, for the report to say how to check them
    (the generic claim is about whatever servers ran, so never one of them)."""
    return [c.id for c in CLAIMS if not c.generic and not applicable(c, work, servers, catalog)]


def _check_composite(
    claim: Claim, done: Mapping[str, ClaimResult], handlers: Mapping[str, set[str]], servers: tuple[str, ...]
) -> tuple[Verdict, str]:
    verdicts = {d: done[d].verdict for d in claim.depends}
    seen = set().union(*(handlers.get(s, set()) for s in servers))
    measured = ", ".join(f"{d} {v}" for d, v in verdicts.items())
    measured += f"; handler(s) seen: {', '.join(sorted(seen)) or 'none'}"
    if "refuted" in verdicts.values() or (claim.same_handler and len(seen) > 1):
        return "refuted", measured
    if all(v == "confirmed" for v in verdicts.values()) and len(seen) == 1:
        return "confirmed", measured
    if "D too small" in verdicts.values():
        return "D too small", measured
    return "inconclusive", measured
