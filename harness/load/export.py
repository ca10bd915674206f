"""The load report's exporters: ``load.md``, ``load.json`` and ``load-requests.csv``."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pandas as pd
from tabulate import tabulate

from harness.core.exporting import clean
from harness.core.frames import number
from harness.core.records import SCHEMAS
from harness.load import model

if TYPE_CHECKING:
    from harness.load.report import LoadReport


def _ms(value: object) -> str:
    v = number(value)
    return "-" if v is None else f"{v * 1e3:.0f}"


def _rps(value: object) -> str:
    v = number(value)
    if v is None:
        return "-"
    return "unbounded" if math.isinf(v) else f"{v:.1f}"


def _fixed(value: object) -> str:
    v = number(value)
    return "-" if v is None else f"{v:.2f}"


def _int(value: object) -> str:
    v = number(value)
    return "-" if v is None else str(int(v))


class LoadJsonExporter:
    filename = "load.json"

    def render(self, report: LoadReport) -> str:
        return render_json(report)


class LoadMarkdownExporter:
    filename = "load.md"

    def render(self, report: LoadReport) -> str:
        return render_markdown(report)


class LoadRequestsCsvExporter:
    filename = "load-requests.csv"

    def render(self, report: LoadReport) -> str:
        return requests_csv(report)


def render_json(report: LoadReport) -> str:
    env = dict(report.environment)
    data = {
        "schema": SCHEMAS["load"],
        "status": report.status,
        "settings": report.settings,
        "steps": [{k: clean(v) for k, v in row.items()} for row in report.steps.to_dict(orient="records")],
        "capacity": [{k: clean(v) for k, v in asdict(c).items()} for c in report.capacity],
        "pictures": [asdict(p) for p in report.pictures],
        "provenance": env.pop("provenance", None),
        "environment": env,
    }
    return json.dumps(data, indent=2) + "\n"


def render_markdown(report: LoadReport) -> str:
    s, env = report.settings, report.environment
    prov = env.get("provenance") or {}
    out = ["# Sustained load: throughput and tail latency against offered rate", ""]
    out += [f"> {line}\n" for line in report.intro]  # a --target: what it was and what it gave
    if report.status != "complete":
        out += ["> **Partial report.** The run stopped early; the steps below were measured.", ""]
    out += [
        f"Every number here was measured in one run on {env['date'][:10]} on {env['cores']} usable cores: each "
        f"handler holds its request for D = {s['delay_s']:g} s; the Go load client sends requests at the offered "
        f"rate for {s['duration_s']:g} s after a {s['warmup_s']:g} s warm-up that is not counted, on a schedule "
        f"fixed in advance ({s['arrivals']} arrivals"
        + (f", seed {s['seed']}" if s["arrivals"] == "poisson" else "")
        + "), sent by a fixed pool of sender goroutines, connections reused and not capped, over "
        + protocol_text(s)
        + ". Latency counts from "
        "the moment a request *should* have been sent, so a stalled server cannot hide its stall; a request that "
        "failed or timed out counts at its time of failure (as k6 and vegeta count it). Percentiles are nearest "
        "rank, printed only when the step has enough samples (p99 needs 100), else -. "
        f"Commit `{str(prov.get('commit', 'unknown'))[:12]}`; `{s['command']}`.",
        "",
        placement(s),
        "",
        client_limit_line(report),
        "",
        "## Predicted and measured ceilings",
        "",
        f"A server that holds k requests at once serves at most k / D requests per second; the model's ceiling "
        f"is k / (D + c), c the server's CPU seconds per request measured below the ceiling (an unbounded "
        f"server's: where the line through its CPU use at its fastest step kept up with and one at least 20% slower "
        f"reaches its cores; without such a pair, cores / c). "
        f"The verdict is *consistent* when the highest throughput a step achieved is "
        f"within {model.TOLERANCE:.0%} of k / D (and a step offered more than that), or, for an unbounded server, "
        f"of that CPU line where the server gave out; steps where more than {model.CLIENT_LAG_MAX:.0%} of the sends "
        f"left late measured the client too and are left out, and a ceiling at or above "
        f"{model.CLIENT_SHARE:.0%} of the client's own limit is marked client-limited.",
        "",
    ]
    rows = [[f"`{c.server}`", "-" if c.verdict == "not checked" else "unbounded" if c.declared is None
             else str(c.declared), _rps(c.predicted_rps), _rps(c.model_rps),
             _rps(c.measured_rps), c.limited_by or "-", c.gave_out or "-", c.verdict, c.reason]
            for c in report.capacity]  # fmt: skip
    out += [tabulate(rows, headers=["server", "k", "k / D (/s)", "model (/s)", "ceiling found (/s)", "limited by",
                                    "gave out", "verdict", "why"],
                     tablefmt="github", disable_numparse=True), ""]  # fmt: skip
    out += [
        "## Every step",
        "",
        "Offered and achieved rate (completed per second inside the counted window), the model's throughput "
        "min(λ, k / D), latency percentiles in ms from the intended send time, failures and timeouts included "
        "(and the model's median: the queue of the warm-up W and half the window, at the measured service time "
        "D + c, drained at k / (D + c), or for an unbounded server at the rate it achieved in that step), "
        "failures, timeouts, the client's late sends, and from the handlers' own records the most "
        "requests in flight and the server's CPU in cores inside the counted window.",
        "",
    ]
    for server in dict.fromkeys(report.steps["server"]) if len(report.steps) else []:
        part = report.steps[report.steps["server"] == server]
        table = [[f"{r['offered_rps']:g}", _rps(r["achieved_rps"]), _rps(r["predicted_rps"]), _ms(r["p50_s"]),
                  _ms(r["p90_s"]), _ms(r["p99_s"]), _ms(r["p999_s"]), _ms(r["max_s"]),
                  _ms(r["model_p50_s"]), f"{r['failed']}" + (f" ({r['rejected']} rejected)" if r["rejected"]
                                                                        else ""),
                  _int(r["timed_out"]), f"{r['late_sends']}" + (" **client lagged**" if r["client_lagged"] else ""),
                  _int(r["max_in_flight"]), _fixed(r["server_cpu_cores"]),
                  r["status"] + (f": {r['reason']}" if r["reason"] else "")]
                 for _, r in part.iterrows()]  # fmt: skip
        headers = ["offered /s", "achieved /s", "model /s", "p50", "p90", "p99", "p99.9", "max", "model p50",
                   "failed", "timed out", "late sends", "in flight", "server CPU", "status"]  # fmt: skip
        out += [f"### {server}", "", tabulate(table, headers=headers, tablefmt="github", disable_numparse=True), ""]
        out += answered_over(part, s)
        out += [f"![{p.title}]({p.png})\n" for p in report.pictures if p.key == server]
    out += ["## Pictures", ""] if report.pictures else []
    out += [f"![{p.title}]({p.png})\n\n[SVG]({p.svg})\n" for p in report.pictures if p.key == "all"]
    return "\n".join(out) + "\n"


def protocol_text(s: dict[str, Any]) -> str:
    """The protocol the load client spoke (a report from before ``--http`` spoke HTTP/1.1)."""
    if s.get("http", "1.1") == "2":
        return ("HTTP/2 with prior knowledge (h2c, `--http 2`): requests are streams of one connection (Go's "
                "transport dials another only at the server's stream limit); under each server's table, the "
                "protocol its counted answers came back over")  # fmt: skip
    return "HTTP/1.1"


def answered_over(part: Any, s: dict[str, Any]) -> list[str]:
    """One server's counted answers by protocol, under ``--http 2`` or when they mixed: a fallback is named."""
    counts: dict[str, int] = {}
    for protocols in part.get("protocols", ()):
        for name, n in (protocols if isinstance(protocols, dict) else {}).items():
            counts[name] = counts.get(name, 0) + int(n)
    if s.get("http", "1.1") == "1.1" and len(counts) < 2:
        return []
    said = ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none"
    fallback = " (**not all HTTP/2**)" if s.get("http") == "2" and set(counts) - {"HTTP/2.0"} else ""
    return [f"Counted answers by protocol: {said}{fallback}.", ""]


def placement(s: dict[str, Any]) -> str:
    """Where the server and the load client ran: pinned to separate cores, or not."""
    if s.get("server_cpus") or s.get("client_cpus"):
        server = f"CPU(s) {s['server_cpus']}" if s.get("server_cpus") else "any CPU"
        client = f"CPU(s) {s['client_cpus']}" if s.get("client_cpus") else "any CPU"
        return f"The server ran on {server} and the load client on {client}, so a ceiling is the server's on its cores."
    return "The server and the load client shared the machine's cores (not pinned)."


def client_limit_line(report: LoadReport) -> str:
    limit = next((c.client_limit_rps for c in report.capacity if c.client_limit_rps), None)
    reached = any(r["client_lagged"] for _, r in report.steps.iterrows() if r["server"] == "go-nethttp")
    if limit is not None and not reached:
        return (
            f"The load client sent on time against go-nethttp at every rate it was offered, up to "
            f"{limit:.0f}/s: its own limit is at least that (not reached in this run)."
        )
    if limit is None:
        return "The load client's own on-time limit was not measured in this run (go-nethttp was not loaded)."
    return (
        f"The load client sent on time (at most {model.CLIENT_LAG_MAX:.0%} of its sends late) up to "
        f"{limit:.0f}/s against go-nethttp in this run: its own limit; a ceiling at or above "
        f"{model.CLIENT_SHARE * limit:.0f}/s is the client's."
    )


REQUEST_COLUMNS = [
    "server", "offered_rps", "name", "warmup", "intended_ns", "sent_ns", "recv_ns", "status", "error", "late",
    "server_closed", "pid", "thread", "enter_ns", "exit_ns", "cpu_enter_ns", "cpu_exit_ns",
]  # fmt: skip


def requests_csv(report: LoadReport) -> str:
    rows = [{"server": s.server, "offered_rps": s.offered_rps, **asdict(r)} for s in report.raw for r in s.requests]
    frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    for col in ("sent_ns", "recv_ns", "pid", "enter_ns", "exit_ns", "cpu_enter_ns", "cpu_exit_ns"):
        frame[col] = frame[col].astype("Int64")
    return frame.to_csv(index=False)
