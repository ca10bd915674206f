"""Everything a report shows, derived from a run's records in one place.

Exporters (``harness.compare.markdown``, ``.json``, ``.csv``) only format a ``Report``; they compute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.compare import claims as claims_mod
from harness.compare.results import RunResults
from harness.compare.stats import STEAL_MAX_SHARE, batch_frame, pairing_frame, solo_call_s
from harness.core.catalog import Catalog
from harness.core.frames import request_frame
from harness.core.records import Phase

if TYPE_CHECKING:
    from harness.core.picture import Picture


@dataclass(frozen=True)
class Report:
    status: str
    """``complete``, or ``partial`` when the run stopped early; failed pairings are
    results of a complete run, listed with their reasons."""
    notes: tuple[str, ...]
    settings: dict[str, Any]
    environment: dict[str, Any]
    pairings: pd.DataFrame
    batches: pd.DataFrame
    requests: pd.DataFrame
    claims: tuple[claims_mod.ClaimResult, ...]
    catalog: Catalog
    context: claims_mod.Context
    unchecked: tuple[str, ...]
    """Ids of claims this run could not check (another kind of work, servers not run)."""
    warnings: tuple[str, ...] = ()
    """What a reader must know even of a complete run (a D too small for a client)."""
    pictures: tuple[Picture, ...] = ()
    """Drawn from these records at the end of a run (``harness.compare.timelines``)."""
    phases: tuple[Phase, ...] = ()
    """Where the harness's own time went, up to this rewrite (see ``model.Phase``)."""

    @property
    def servers(self) -> list[str]:
        return list(dict.fromkeys(self.pairings["server"]))

    @property
    def clients(self) -> list[str]:
        return list(dict.fromkeys(self.pairings["client"]))


def handlers_by_server(results: RunResults) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for pairing in results.pairings.values():
        for batch in pairing.batches:
            found.setdefault(pairing.server, set()).update(r.handler for r in batch.requests if r.handler)
    return found


def build(results: RunResults, pictures: tuple[Picture, ...] = ()) -> Report:
    settings = results.settings
    pairings = list(results.pairings.values())
    batches = batch_frame(pairings)
    summary = pairing_frame(
        pairings, batches, delay_s=settings["delay_s"], clients=settings["clients"], work=settings.get("work", "wait")
    )
    clients = results.catalog.clients_by_name
    summary["client_concurrent"] = [clients[c].concurrent for c in summary["client"]]
    work = settings.get("work", "wait")
    servers = results.catalog.servers_by_name
    by_server, by_language = (
        solo_call_s(pairings, lambda name: "go" if name in servers and servers[name].needs_go else "python")
        if work == "cpu"
        else ({}, {})
    )
    ctx = claims_mod.Context.of(
        settings,
        results.environment,
        results.catalog,
        by_language,
        server_call_s=by_server,
        dispatch_s=claims_mod.client_dispatch_s(summary, results.catalog, settings["clients"], work),
    )
    # CPU work: the ratio in calls, a multiple of that server's own solo call in this run
    summary["calls_median"] = (
        [row["ratio_median"] / ctx.scale(str(row["server"])) for _, row in summary.iterrows()]
        if work == "cpu"
        else float("nan")
    )
    verdicts = claims_mod.check(summary, handlers_by_server(results), ctx)
    notes = []
    unchecked = tuple(claims_mod.not_checked(work, set(summary["server"]), results.catalog))
    target_notes = []
    if target := settings.get("target"):
        target_notes.append(target_note(target))
        if why := target_unchecked(target):
            verdicts, unchecked = [], ()
            target_notes.append(f"Claims not checked: {why}.")
    if results.interrupted:
        notes.append(f"The run was interrupted ({results.interrupted}).")
    not_measured = [
        f"{p.server} x {p.client}" + (f" ({p.reason})" if p.reason else "")
        for p in pairings
        if p.status == "not measured"
    ]
    if not_measured:
        notes.append(f"Not measured: {', '.join(not_measured)}.")
    failed = [p for p in pairings if p.status == "failed"]
    if failed:
        notes.append(f"{len(failed)} pairing(s) failed; reasons below the matrix.")
    summary["d_too_small"] = [ctx.too_small_for(row) for _, row in summary.iterrows()]
    summary["behaviour"] = [claims_mod.behaviour(row, ctx) for _, row in summary.iterrows()]
    warnings = list(target_notes)
    if note := stolen_note(summary):
        warnings.append(note)
    gil_back = sorted({b.server for p in pairings for b in p.batches for r in b.requests if r.gil_enabled})
    if results.environment.get("free_threaded") and gil_back:
        warnings.append(
            f"This interpreter is free-threaded, but the GIL was enabled while {', '.join(gil_back)} handled "
            "requests: an extension turned it back on (run with PYTHON_GIL=0 to keep it off)."
        )
    small = sorted(set(summary.loc[summary["d_too_small"], "client"]))
    if small:
        warnings.append(
            f"D = {settings['delay_s']:g} s is too small for {', '.join(small)}: under {claims_mod.DISPATCH_FLOOR:g} x "
            f"the time each needs to get its requests into handlers; use --delay {ctx.needed_delay_s():g} or more."
        )
    status = "complete" if results.complete and not not_measured else "partial"
    return Report(
        status=status,
        notes=tuple(notes),
        settings=settings,
        environment=results.environment,
        pairings=summary,
        batches=batches,
        requests=request_frame(b for p in pairings for b in p.batches),
        claims=tuple(verdicts),
        catalog=results.catalog,
        context=ctx,
        unchecked=unchecked,
        warnings=tuple(warnings),
        pictures=pictures,
        phases=tuple(results.phases),
    )


def stolen_note(summary: pd.DataFrame) -> str:
    """How many counted batches were left out because the host stole CPU, and where."""
    rows = summary[summary["stolen_batches"] > 0]
    if rows.empty:
        return ""
    where = ", ".join(f"{r['server']} x {r['client']} ({int(r['stolen_batches'])})" for _, r in rows.iterrows())
    return (
        f"{int(rows['stolen_batches'].sum())} counted batch(es) were left out of the figures and verdicts: the "
        f"host stole more than {STEAL_MAX_SHARE:.0%} of the machine's CPU time while they ran (`steal` in "
        f"/proc/stat), which slows CPU work unseen; their records are kept (`stolen` in report.json): {where}."
    )


def target_note(target: dict[str, Any]) -> str:
    """What a reader must know of a --target run: what ran where, and what was checked."""
    runs = f"runs {target['as']} (--as)" if target.get("as") else "runs no declared catalog server"
    evidence = (
        "its answers carry the evidence fields, so in flight, processes and threads are the server's own"
        if target.get("evidence")
        else "its answers carry no evidence fields: in flight, processes and threads are not available, "
        "only the client-side figures"
    )
    clock = (
        "it shares this host's monotonic clock, so the clients' send/receive stamps were checked against its "
        "handlers' enter/exit"
        if target.get("clock") == "same"
        else "its clock is its own (another host), so the clients' stamps cannot be ordered with its handlers': "
        "that check and the dispatch spread are left out (in flight uses only the server's own stamps)"
    )
    return f"The server is a target the harness did not start: {target['url']}; it {runs}; {evidence}; {clock}."


def target_unchecked(target: dict[str, Any]) -> str:
    """Why a --target run cannot check claims, or '' when it can."""
    if not target.get("evidence"):
        return "no server-side evidence from the target"
    if not target.get("as"):
        return "the target is not declared as a catalog server (name the one it runs with --as)"
    return ""


def one_line(reason: str) -> str:
    """A reason on one line: its first line, and the last line of a quoted log tail."""
    lines = [line.strip() for line in reason.strip().splitlines() if line.strip()]
    if not lines:
        return "no reason recorded"
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]} `{lines[-1].replace('`', chr(39))}`"
