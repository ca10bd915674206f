"""``report.md``: tables that can be pasted into a blog post as they are."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.compare.claims import (
    DISPATCH_FLOOR,
    OTHER_LOAD_MAX,
    PARALLEL_GAIN,
    Context,
    bands,
    behaviour,
    parallel_min,
    servers_for,
)
from harness.compare.report import one_line
from harness.compare.stats import ACK_DELAY_S, STEAL_MAX_SHARE, nagle
from harness.core.claims import CLAIMS, server_summary
from harness.core.exporting import environment_rows, is_measured, table, work_text
from harness.core.thresholds import GIL_MAX_PARALLELISM

if TYPE_CHECKING:
    from harness.compare.report import Report


def ratio_cell(row: pd.Series) -> str:
    """'1.01x (1.00-1.02)', with 'failed' or 'interrupted' where that applies."""
    if not is_measured(row["ratio_median"]):
        if row["status"] == "ok" and is_measured(row.get("stolen_batches")) and row["stolen_batches"] > 0:
            return "stolen (every counted batch left out)"
        return "failed" if row["status"] == "failed" else "not measured"
    cell = f"{row['ratio_median']:.2f}x"
    if row["repeats"] > 1:
        cell += f" ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"
    if row["status"] == "failed":
        cell += " failed"
    elif row["status"] == "not measured":
        cell += " interrupted"
    if is_measured(row.get("rejected")) and row["rejected"] > 0:
        cell += f" ({int(row['rejected'])} rejected)"
    if row.get("d_too_small") is True:
        cell += " D too small"
    if row.get("client_limited") is True:
        cell += " client-limited"
    if nagle(row):
        cell += " (delayed ACK)"
    return cell


def nagle_text(report: Report) -> str:
    """The cells that carry the Nagle / delayed-ACK signature, each with its evidence; empty when none do."""
    rows = [r for _, r in report.pairings.iterrows() if nagle(r)]
    if not rows:
        return ""
    lo, hi = (round(s * 1e3) for s in ACK_DELAY_S)
    lines = [
        f"**(delayed ACK)**: on connections the client kept open, these cells' answers reached the client "
        f"{lo}-{hi} ms after their handler returned, where a millisecond or two is usual: the signature of a "
        "response written in two sends without `TCP_NODELAY`, whose second send waits (Nagle's algorithm) for "
        "the client's ACK of the first, which Linux delays by 40 ms. Each such request takes D + ~40 ms; with "
        "all N at once the batch takes ~1x D + 40 ms, one after another N x (D + 40 ms). A cost per response "
        "of the server's socket settings, not of its concurrency (docs/reading-the-report.md, \"Things you may "
        'notice").',
        "",
    ]
    for r in rows:
        lines.append(
            f"- `{r['server']}` x `{r['client']}`: {int(r['ack_delayed'])} of {int(r['ack_checked'])} requests "
            f"answered {r['ack_delay_s'] * 1e3:.0f} ms (median) after their handler returned; the cell's median "
            f"for every request: {r['answer_gap_s'] * 1e3:.1f} ms; new connections per batch: "
            f"{connections_cell(r)}."
        )
    return "\n".join(lines)


def connections_cell(row: pd.Series) -> str:
    """New connections the server saw per counted batch, and who closed them."""
    if not is_measured(row.get("new_connections")):
        return "-"
    cell = f"{row['new_connections']:g}"
    if row.get("server_closed") is True:
        cell += " (server closed)"
    return cell


def _fixed(value: Any, unit: str = "") -> str:
    return f"{value:.2f}{unit}" if is_measured(value) else "-"


def _int(value: Any, missing: str = "-") -> str:
    return str(int(value)) if is_measured(value) else missing


def grid(report: Report, cell: Callable[[pd.Series], str], missing: str) -> str:
    """One cell per pairing: servers down, clients across, ``missing`` where none ran."""
    p = report.pairings.copy()
    p["cell"] = p.apply(cell, axis=1)
    found = p.pivot(index="server", columns="client", values="cell")
    found = found.reindex(index=report.servers, columns=report.clients).fillna(missing)
    found.index.name = "server"
    return table(found.reset_index())


def calls_cell(row: pd.Series) -> str:
    """'2.53x = 2.55 calls': with CPU work, the ratio beside the same wall time in calls
    (a multiple of that server's own solo call in this run)."""
    cell = ratio_cell(row)
    if is_measured(row.get("calls_median")):
        cell += f" = {row['calls_median']:.2f} calls"
    return cell


def matrix(report: Report) -> str:
    return grid(report, calls_cell if report.context.work == "cpu" else ratio_cell, "not measured")


def steal_cell(report: Report, server: str, client: str) -> str:
    """The host's steal in each counted batch, in order; a batch left out for it is marked."""
    b = report.batches
    rows = b[(b["server"] == server) & (b["client"] == client) & ~b["warmup"]]
    cells = [
        "-" if not is_measured(r["steal_share"]) else f"{r['steal_share']:.1%}" + (" (left out)" if r["stolen"] else "")
        for _, r in rows.iterrows()
    ]
    return ", ".join(cells) or "-"


def latency_cell(row: pd.Series) -> str:
    if not is_measured(row.get("latency_p50_s")):
        return "-"
    ms = [f"{row[f'latency_{q}_s'] * 1e3:.0f}" for q in ("p50", "p90", "p99", "max")]
    return f"{' / '.join(ms)} ms, {row['requests_per_s']:.1f}/s"


def latency(report: Report) -> str:
    """Latency percentiles and throughput per pairing: servers down, clients across."""
    return grid(report, latency_cell, "-")


def evidence(report: Report, server: str) -> str:
    rows = report.pairings[report.pairings["server"] == server]
    target = report.settings.get("target") or {}
    na = "not available" if target and not target.get("evidence") else "-"
    frame = pd.DataFrame(
        {
            "client": rows["client"],
            "wall / D": [ratio_cell(r) for _, r in rows.iterrows()],
            "seen as": [behaviour(r, report.context) for _, r in rows.iterrows()],
            "max in flight": rows["max_in_flight"].map(lambda v: _int(v, na)),
            "processes": rows["processes"].map(lambda v: _int(v, na)),
            "threads": rows["threads"].map(lambda v: _int(v, na)),
            "parallelism": rows["parallelism"].map(_fixed),
            "new connections": [connections_cell(r) for _, r in rows.iterrows()],
            "client CPU": rows["client_busy"].map(lambda v: f"{v:.0%}" if is_measured(v) else "-"),
            "handler time / D": rows["held_ratio_median"].map(_fixed),
            "median latency": rows["latency_median_s"].map(lambda v: f"{v:.3f} s" if is_measured(v) else "-"),
        }
    )
    if report.settings.get("http") == "2":  # what each server answered with; a fallback is named
        frame.insert(1, "protocol", rows["protocol"].map(protocol_cell))
    if report.context.work == "cpu":  # the cores the rest of the machine took decide what parallelism can show
        frame.insert(7, "others' cores", rows["other_load"].map(_fixed))
        frame.insert(8, "steal per batch", [steal_cell(report, server, c) for c in rows["client"]])
    if "sampled_processes" in rows and rows["sampled_processes"].notna().any():  # --server-pid
        frame["sampled processes"] = rows["sampled_processes"].map(lambda v: _int(v, "-"))
        frame["sampled threads"] = rows["sampled_threads"].map(lambda v: _int(v, "-"))
        frame["sampled parallelism"] = rows["sampled_parallelism"].map(_fixed)
    return table(frame)


def protocol_cell(value: object) -> str:
    """The protocol a server answered ``--http 2`` with; HTTP/1.1 is named as a fallback."""
    if not isinstance(value, str) or not value:
        return "-"
    return value if value == "HTTP/2" else f"{value} (fell back from HTTP/2)"


def claims(report: Report, *, article: bool) -> str:
    frame = pd.DataFrame(
        [(c.id, c.text, c.expected, c.measured, c.verdict) for c in report.claims if c.article == article],
        columns=["id", "claim", "expected", "measured", "verdict"],
    )
    return table(frame)


def bands_text(report: Report) -> str:
    """The thresholds of this run, in words."""
    ctx = report.context
    small = (
        f" *D too small*: D under {DISPATCH_FLOOR:g} x a client's dispatch spread (its first send to its last "
        "handler entry, on servers that hold all N at once), where no server can show 1 x D; such pairings are "
        "never refuted."
    )
    if ctx.work == "cpu":
        return (
            f"With CPU work the verdicts rest on what the server did, not on the ratio: *serial*: 1 in flight; "
            f"*interleaved* (threads taking turns): all {ctx.n} in flight with parallelism at most "
            f"{GIL_MAX_PARALLELISM:g}; *parallel*: all {ctx.n} in flight with parallelism at least "
            f"{parallel_min(ctx.n, ctx.cores):.3g} on {ctx.cores} usable cores (1 + {PARALLEL_GAIN:g} x (cores - 1)); "
            "*bounded*: k in flight for a declared capacity k < N. Parallelism is the CPU time the serving "
            "processes used from their first handler enter to their last handler exit, over the batch's wall "
            "time (median over the counted batches). On one usable core, parallel and interleaved cannot be told "
            f"apart and claims about them say so; where the rest of the machine kept more than {OTHER_LOAD_MAX:g} "
            "core busy (*others' cores*), a server short of parallel is *in between*, not refuted. "
            "The ratio is shown in units of one call of that server, as this "
            f"run measured it (its requests that ran alone), for reference only{scaled(ctx)}.{small}"
        )
    found = bands(ctx.n, ctx.cores, ctx.work)
    parts = [f"*{b.name}*: median {b.low:.3g}x to {'any' if b.high == float('inf') else format(b.high, '.3g') + 'x'} "
             f"with {b.in_flight} in flight" for b in found.values()]  # fmt: skip
    return (
        f"Thresholds for N = {ctx.n} on {ctx.cores} cores, {ctx.work} work: {'; '.join(parts)}{scaled(ctx)}; "
        "a server with a "
        "declared capacity k may be *bounded*: ceil(N / k) x D +- 0.5 with k in flight. A claim is confirmed "
        "when every pairing it names (its servers against every client that sends at once, unless it names a "
        "client) is in the expected band, with the evidence stated; refuted when one is in another band; "
        "inconclusive when one failed, was not measured or fell between bands." + small
    )


def scaled(ctx: Context) -> str:
    if ctx.work != "cpu" or not (ctx.call_s or ctx.server_call_s):
        return ""
    calls = ", ".join(f"{name} {t / ctx.delay_s:.2f} D" for name, t in (ctx.server_call_s or {}).items())
    pooled = ", ".join(f"{name} {t / ctx.delay_s:.2f} D" for name, t in (ctx.call_s or {}).items())
    return f" (one call: {calls or 'none ran alone'}; servers with none use their language's: {pooled})"


def unchecked_text(report: Report) -> str:
    """Which claims need another run, and which options make it."""
    by_option: dict[str, list[str]] = {}
    for claim in CLAIMS:
        if claim.id in report.unchecked:
            other_work = claim.work != report.context.work
            how = f"--work {claim.work}" if other_work else f"--servers {','.join(servers_for(claim, report.catalog))}"
            by_option.setdefault(how, []).append(claim.id)
    hints = [f"{', '.join(ids)} with `{how}`" for how, ids in by_option.items()]
    return f"Not checked in this run: {'; '.join(hints)}." if hints else ""


def environment(report: Report) -> str:
    env, s = report.environment, report.settings
    rows = [
        *environment_rows(env),
        ("D (hold per request)", f"{s['delay_s']:g} s"),
        ("N (clients per batch)", str(s["clients"])),
        ("R (counted batches per pairing)", f"{s['repeats']} (after 1 warm-up batch)"),
        ("work", work_text(s)),
        *placement_rows(s),
        ("command", f"`{s['command']}`"),
        ("harness", env["harness"]),
    ]
    if "duration_s" in s:
        rows.append(("run wall time", f"{s['duration_s']:.0f} s"))
    return table(pd.DataFrame(rows, columns=["", "value"]))


def placement_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    """Where the server and the clients ran: a --target, and the CPUs each was pinned to."""
    rows = []
    if target := s.get("target"):
        evidence = "evidence fields" if target.get("evidence") else "evidence not available"
        clock = "clock shared with the clients" if target.get("clock") == "same" else "its own clock"
        rows.append(("server", f"target {target['url']} (not started by the harness; {evidence}; {clock})"))
    if s.get("server_cpus") or s.get("client_cpus"):
        where = [f"server on CPU(s) {s['server_cpus']}" if s.get("server_cpus") else "server on any CPU",
                 f"clients on CPU(s) {s['client_cpus']}" if s.get("client_cpus") else "clients on any CPU"]  # fmt: skip
        rows.append(("CPU placement", "; ".join(where) + " (affinity set before exec)"))
    return rows


def cpu_floor(report: Report) -> str:
    ctx = report.context
    if ctx.work != "cpu":
        return ""
    best = ctx.n / min(ctx.n, ctx.cores)
    return f" With CPU work on {ctx.cores} cores, {ctx.n} handlers in parallel take about {best:.2f}x at best."


def calls_text(report: Report) -> str:
    """What the CPU matrix's calls are, and which batches it leaves out."""
    if report.context.work != "cpu":
        return ""
    return (
        " Beside each ratio, the same wall time in *calls*: a multiple of that server's own call, the median "
        "handler time of its requests that ran alone in this run (one call takes about D, but its length "
        "differs by server and moment; calls compare servers fairly). Batches during which the host stole more "
        f"than {STEAL_MAX_SHARE:.0%} of the machine's CPU are left out (*steal per batch* below)."
    )


def connections_text(policy: str, report: Report) -> str:
    """The clients' connection policy, and the servers that closed connections themselves."""
    text = (
        "Every client reuses its connections: the warm-up opens the batch's N connections and the counted "
        "batches reuse them, so the figures hold no connection set-up."
        if policy == "reuse"
        else "Every client opens a new connection for every request (`--connections fresh`), as the article's "
        "program, a new process each run, does."
    )
    closers = sorted({str(r["server"]) for _, r in report.pairings.iterrows() if r.get("server_closed") is True})
    if closers:
        text += (
            f" {', '.join(f'`{c}`' for c in closers)} closed every connection after its answer "
            "(`Connection: close`), so each of its requests came on a new connection whatever the client does."
        )
    return text


def http_text(http: str) -> str:
    """``--http 2``: what one connection per client means, and where the answer's protocol is."""
    if http != "2":
        return ""
    return (
        " Over HTTP/2 (`--http 2`, h2c with prior knowledge) each client sends its N requests as N streams of "
        "one connection; the *protocol* column says what each server answered with."
    )


class MarkdownExporter:
    filename = "report.md"

    def render(self, report: Report) -> str:
        s = report.settings
        n = s["clients"]
        out = ["# Concurrent HTTP requests in Go and Python: comparison report", ""]
        if report.status != "complete":
            out += [f"> **Partial report.** {' '.join(report.notes)}", ""]
        out += [f"> **Note.** {w}\n" for w in report.warnings]
        if s.get("quick"):
            out += [
                f"> **Quick run** (`--quick`: D = {s['delay_s']:g} s, {s['repeats']} counted batch per pairing): "
                "a quick look. The published `results/quick/` beside `results/report.md` shows how one compares "
                "with a default run; for figures to publish, run without `--quick`.",
                "",
            ]
        out += [
            f"Every number here was measured in one run on {report.environment['date'][:10]}, on "
            f"{report.context.cores} cores: each server holds every request for D = {s['delay_s']:g} s "
            f"({work_text(s)}), each batch sends N = {n} requests at once "
            f"(except the sequential client), and each pairing ran {s['repeats']} counted batches after one "
            "warm-up batch. "
            + connections_text(s.get("connections", "reuse"), report)
            + http_text(s.get("http", "1.1"))
            + " Regenerated by every run; do not edit by hand.",
            "",
            "## Batch wall time as a multiple of D",
            "",
            f"1.00x = all {n} requests served at once; {n}.00x = one after another. Median over the counted "
            "batches (min-max in brackets), timed inside each client like the article's `!! main took`."
            + cpu_floor(report)
            + calls_text(report),
            "",
            matrix(report),
            "",
        ]
        if text := nagle_text(report):
            out += [text, ""]
        failed = report.pairings[report.pairings["status"] == "failed"]
        if len(failed):
            out += ["Failed pairings:", ""]
            out += [f"- `{r['server']}` x `{r['client']}`: {one_line(r['reason'])}" for _, r in failed.iterrows()]
            out += [""]
        out += [
            "## Latency and throughput",
            "",
            "Client-side latency of every answered request of the counted batches, from send to answer: "
            "p50 / p90 / p99 / max in milliseconds, then requests per second of batch wall time (answered "
            "requests over the batches' summed wall time).",
            "",
            latency(report),
            "",
        ]
        out += ["Clients:", ""]
        out += [f"- `{c}`: {report.catalog.clients_by_name[c].summary}" for c in report.clients]
        out += [
            "",
            "## What the servers saw",
            "",
            "From the handlers' own records (pid, thread or goroutine, enter and exit on one clock shared by "
            "every process): the most requests in flight at once, and how many distinct processes and "
            "threads ran them, per batch (median over the counted batches). This is why a batch took 1x or "
            f"{n}x. Each server's timeline draws one bar per request, from handler enter to exit, in one lane "
            "per worker (process and thread or goroutine; hover in the SVG for its pid and thread), for the "
            "median counted batch of every client, the one whose wall time / D is the matrix's median.",
            "",
        ]
        for server in report.servers:
            spec = report.catalog.servers_by_name.get(server)
            about = (
                server_summary(spec, report.context.work)
                if spec
                else "A --target the harness did not start and the catalog does not declare."
            )
            if server == (report.settings.get("target") or {}).get("name"):
                about += f" Not started by the harness: {report.settings['target']['url']}."
            out += [f"### {server}", "", about, "", evidence(report, server), ""]
            out += [f"![{p.title}]({p.png})\n\n[SVG]({p.svg})\n" for p in report.pictures if p.key == server]
        out += ["## Claims", "", bands_text(report), ""]
        if any(c.article for c in report.claims):
            out += ["### The article's claims", "", claims(report, article=True), ""]
        if any(not c.article for c in report.claims):
            out += ["### Beyond the article", "", claims(report, article=False), ""]
        if text := unchecked_text(report):
            out += [text, ""]
        out += [
            "## Environment",
            "",
            environment(report),
            "",
        ]
        return "\n".join(out)
