"""``locust.md`` and ``locust.json``: a Locust run (``harness.locust.report``) as this project's tables."""

from __future__ import annotations

import json

from tabulate import tabulate

from harness.core.exporting import clean, environment_rows
from harness.core.records import SCHEMAS
from harness.locust.report import LocustReport


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _grid(rows: list[list[str]], headers: list[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def render_markdown(report: LocustReport) -> str:
    s, env, h = report.settings, report.environment, report.history
    prov = env.get("provenance") or {}
    d = f"D = {s['delay_s']:g} s (from {s['delay_from']})" if s["delay_s"] else "D not known (give --delay)"
    run = []
    if h.get("peak_users") is not None:
        run.append(f"at most {h['peak_users']} users")
    if h.get("duration_s") is not None:
        run.append(f"about {h['duration_s']:.0f} s of samples")
    out = [
        "# Locust: the article's batch from many clients",
        "",
        f"Measured with Locust running `python/locustfile.py` (in distributed mode: one master, workers on any "
        f"hosts): each user sends a batch of N = {s['clients']} requests at once, each in its own greenlet, waits "
        f"for every answer, checks it (status 200, `hello`, its own `client` echoed) and sends the next batch. "
        f"That is a closed model: a slow server slows the users down instead of piling requests up (for an open "
        f"model, offered rates regardless of answers, see `nox -s load`). {d}"
        + (f"; {', '.join(run)}" if run else "")
        + f". Locust's CSV: `{s['csv_prefix']}_stats.csv`. Commit `{str(prov.get('commit', 'unknown'))[:12]}`; "
        f"`{s['command']}`.",
        "",
        "## Batches",
        "",
        "Each batch's wall time, from the first request sent to the last answer, as Locust's percentiles "
        "(rounded to 10 ms above 100 ms) and as a multiple of D: 1x means the server held the whole batch at "
        "once, Nx one request after another.",
        "",
    ]
    rows = [[r["name"], str(r["count"]), str(r["failures"]), _ms(r["median_ms"]), _ms(r["p95_ms"]),
             _ms(r["max_ms"]), _x(r["median_ratio"]), _x(r["p95_ratio"]), _rate(r["per_s"])]
            for r in report.batches]  # fmt: skip
    out += [_grid(rows, ["batch", "batches", "failed", "median ms", "p95 ms", "max ms", "median / D", "p95 / D",
                         "batches/s"]) if rows else "No `BATCH` rows: was Locust run with python/locustfile.py?",
            ""]  # fmt: skip
    out += ["## Requests", "", "Every single request, as Locust counted it.", ""]
    rows = [[r["type"], f"`{r['name']}`", str(r["count"]), str(r["failures"]), _ms(r["median_ms"]),
             _ms(r["p95_ms"]), _ms(r["max_ms"]), _rate(r["per_s"])] for r in report.requests]  # fmt: skip
    out += [_grid(rows, ["type", "name", "requests", "failed", "median ms", "p95 ms", "max ms", "requests/s"]), ""]
    out += ["## Failures", ""]
    if report.failures:
        rows = [[f["method"], f"`{f['name']}`", f["error"], str(f["occurrences"])] for f in report.failures]
        out += [_grid(rows, ["type", "name", "error", "occurrences"]), ""]
    else:
        out += ["None: every answer was status 200 with `hello` and its own `client`.", ""]
    out += ["## The server's evidence", ""]
    e = report.evidence
    if e is None:
        out += ["Not given (`--evidence DIR`, the `HARNESS_EVIDENCE_DIR` the workers wrote to).", ""]
    else:
        files, workers = _count(len(e["files"]), "file"), _count(e["workers"], "worker process", "worker processes")
        out += [
            f"From the handlers' own stamps in every answer, as the workers wrote them ({files}, {workers}): the most "
            "requests in flight at once over the whole run (every "
            "user's batches together) and within one batch (at most N), how many batches had all N in flight, "
            "and how many server processes and threads (goroutines for Go) ran a handler.",
            "",
        ]
        in_batch = (f"{e['batch_in_flight_median']:g} ({e['batch_in_flight_min']}-{e['batch_in_flight_max']})"
                    if e["batch_in_flight_median"] is not None else "-")  # fmt: skip
        d_s = s["delay_s"]
        wall = "-"
        if e["batch_wall_median_s"] is not None and d_s:
            wall = f"{e['batch_wall_median_s'] / d_s:.2f}x (p95 {e['batch_wall_p95_s'] / d_s:.2f}x)"
        rows = [[str(e["answers"]), str(e["failed_answers"]), str(e["batches"]), str(e["max_in_flight"]), in_batch,
                 f"{e['batches_all_in_flight']} of {e['batches']}", str(e["processes"]), str(e["threads"]),
                 _ms(e["hold_median_s"] * 1000 if e["hold_median_s"] is not None else None), wall]]  # fmt: skip
        out += [_grid(rows, ["answers", "failed", "batches", "in flight (run)", "in flight per batch",
                             f"batches with all {s['clients']}", "processes", "threads", "hold median ms",
                             "batch wall / D (exact)"]), ""]  # fmt: skip
    env_rows = [*environment_rows(env), ("command", f"`{s['command']}`"), ("harness", env["harness"])]
    out += [
        "## Environment",
        "",
        "The machine this report was written on (Locust's master, when run there); the workers' hosts are "
        "not recorded by Locust.",
        "",
        _grid([[k, v] for k, v in env_rows], ["", "value"]),
        "",
    ]
    return "\n".join(out)


def render_json(report: LocustReport) -> str:
    env = dict(report.environment)
    data = {
        "schema": SCHEMAS["locust"],
        "settings": report.settings,
        "batches": [{k: clean(v) for k, v in r.items()} for r in report.batches],
        "requests": [{k: clean(v) for k, v in r.items()} for r in report.requests],
        "failures": report.failures,
        "history": report.history,
        "evidence": report.evidence,
        "provenance": env.pop("provenance", None),
        "environment": env,
    }
    return json.dumps(data, indent=2) + "\n"


class LocustMarkdownExporter:
    filename = "locust.md"

    def render(self, report: LocustReport) -> str:
        return render_markdown(report)


class LocustJsonExporter:
    filename = "locust.json"

    def render(self, report: LocustReport) -> str:
        return render_json(report)
