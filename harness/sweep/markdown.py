"""``sweep.md``: the capacity table, the pictures, every point, and the environment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.core.claims import server_summary
from harness.core.exporting import environment_rows, is_measured, table, work_text
from harness.sweep.capacity import AT_ONCE_MAX_RATIO, GROUPS

if TYPE_CHECKING:
    from harness.core.picture import Picture
    from harness.sweep.report import SweepReport


def _fmt(value: Any, spec: str, suffix: str = "") -> str:
    return f"{value:{spec}}{suffix}" if is_measured(value) else "-"


def _mib(value: Any) -> str:
    return f"{value / 2**20:.0f} MiB" if is_measured(value) else "-"


def picture(p: Picture) -> str:
    return f"![{p.title}]({p.png})\n\n[SVG]({p.svg}) · {p.title}"


def capacity_table(report: SweepReport) -> str:
    frame = pd.DataFrame(
        [
            (
                f"`{c.server}`",
                c.declared_text,
                c.declared_reason,
                c.measured_text,
                f"**{c.verdict}**",
                c.reason,
            )
            for c in report.capacity
        ],
        columns=["server", "declared k", "why (catalog)", "measured k", "verdict", "what the sweep measured"],
    )
    return table(frame)


def points_table(report: SweepReport, server: str) -> str:
    rows = report.points[report.points["server"] == server].sort_values("clients")
    frame = pd.DataFrame(
        {
            "N": rows["clients"].map(str),
            "status": rows["status"],
            "wall / D": rows["ratio"].map(lambda v: _fmt(v, ".2f", "x")),
            "predicted": rows["predicted_ratio"].map(lambda v: _fmt(v, "g", "x")),
            "N x D / wall": rows["effective_concurrency"].map(lambda v: _fmt(v, ".1f")),
            "in flight": rows["max_in_flight"].map(lambda v: _fmt(v, "d")),
            "processes / threads": [
                f"{_fmt(p, 'd')} / {_fmt(t, 'd')}" for p, t in zip(rows["processes"], rows["threads"], strict=True)
            ],
            "peak RSS": rows["peak_rss_bytes"].map(_mib),
            "OS threads (idle → peak)": [
                f"{_fmt(i, 'd')} → {_fmt(p, 'd')}"
                for i, p in zip(rows["idle_threads"], rows["peak_threads"], strict=True)
            ],
            "server CPU": rows["server_cpu_s"].map(lambda v: _fmt(v, ".2f", " s")),
            "machine busy": rows["machine_busy"].map(lambda v: _fmt(v * 100 if is_measured(v) else v, ".0f", "%")),
            "failed": rows["failed"].map(lambda v: _fmt(v, "d")),
            "last enter / D": rows["late_max_d"].map(lambda v: _fmt(v, ".2f")),
            "SYN resends": rows["syn_retrans"].map(lambda v: _fmt(v, "d")),
            "note": rows["reason"].fillna(""),
        }
    )
    return table(frame)


def environment(report: SweepReport) -> str:
    env, s = report.environment, report.settings
    rows = [
        *environment_rows(env),
        ("open files (soft limit, raised to the hard one)", str(s.get("open_files_limit", "-"))),
        ("D (hold per request)", f"{s['delay_s']:g} s"),
        ("work", work_text(s)),
        ("budget per point", f"{s['budget_s']:g} s (every request times out after it)"),
        ("ladder", ", ".join(map(str, s["ladder"])) + " (+ k and k+1 of each bounded server)"),
        ("client", f"`{s['client']}` ({s['client_reason']})"),
        ("command", f"`{s['command']}`"),
        ("harness", env["harness"]),
    ]
    if "duration_s" in s:
        rows.append(("sweep wall time", f"{s['duration_s']:.0f} s ({s['duration_s'] / 60:.1f} min), Go build excluded"))
    if "pictures_s" in s:
        rows.append(("drawing the pictures", f"{s['pictures_s']:.0f} s more"))
    return table(pd.DataFrame(rows, columns=["", "value"]))


def _pictures(report: SweepReport, kind: str) -> list[str]:
    out = []
    for group, title in GROUPS.items():
        for p in report.pictures:
            if p.kind == kind and p.key == group:
                out += [f"### {title}", "", picture(p), ""]
    return out


def cpu_note(settings: dict[str, Any]) -> list[str]:
    if settings.get("work") != "cpu":
        return []
    return [
        "> **CPU work.** Capacity is declared for waiting handlers. Here every handler computes for about D, "
        "so the cores (and for Python threads, the GIL) bound what runs at once: a *disagrees* below measures "
        "that bound, not a wrong declaration.",
        "",
    ]


class SweepMarkdownExporter:
    filename = "sweep.md"

    def render(self, report: SweepReport) -> str:
        s = report.settings
        out = ["# How many requests at once? Concurrency sweep", "", *[f"> {line}\n" for line in report.intro]]
        if report.status != "complete":
            out += [f"> **Partial report.** {' '.join(report.notes) or 'The sweep did not finish.'}", ""]
        out += [
            f"Every number here was measured in one run on {report.environment['date'][:10]}. Each server "
            f"holds every request for D = {s['delay_s']:g} s. For each N of its ladder a fresh `{s['client']}` "
            f"client process sends N requests at once, as one batch ({s['client_reason']}); each server gets "
            "one warm-up batch first, kept in `sweep-requests.csv` but not counted. Every request times out "
            f"after the budget of {s['budget_s']:g} s; a point that uses it up is *over budget* and the "
            "server's larger N are *not run*. Regenerated by every sweep; do not edit by hand.",
            "",
            "## Capacity: declared against measured",
            "",
            *cpu_note(s),
            "The catalog declares how many requests each server holds at once (k) and why. With k, N "
            "requests take ceil(N / k) x D (waves of k); unbounded, 1 x D at any N. **Measured k** is the "
            "largest N of the ladder such that it and every smaller N were served *at once*: wall time at most "
            f"{AT_ONCE_MAX_RATIO}x D, all N requests in flight on the server together (its own enter/exit "
            "records), none failed. The ladder holds k and k+1 of each bounded server, so measured k can be "
            "exact. **consistent**: measured k = declared k and N = k+1 was not served at once (unbounded: "
            "every N of the ladder was); **disagrees**: the measurements say otherwise, with what was "
            "measured at the first N not served at once; **inconclusive**: the ladder cannot tell.",
            "",
            capacity_table(report),
            "",
            "## Wall time against N",
            "",
            "One chart per kind of declared capacity, one panel per server. Dots joined by a line: measured "
            "wall time / D; hollow triangles, not joined: over budget, so at least that; grey dashed: predicted "
            "ceil(N / k); red rings: the kernel dropped or resent SYNs; the green band is *at once*.",
            "",
            *_pictures(report, "sweep"),
            "## Resources against N",
            "",
            "The server's whole process group, sampled with psutil every 20 ms while each batch ran: RSS "
            "summed over its processes (shared pages count once per process, so pre-forked workers look "
            "bigger than they are) and OS threads (Go's goroutines are not OS threads).",
            "",
            *_pictures(report, "resources"),
            "## Every point",
            "",
            "Per server: N; wall / D measured and predicted; effective concurrency N x D / wall; the most "
            "requests in flight at once and the distinct processes / threads that ran them (from the "
            "handlers' records); the server's peak RSS and OS threads; the CPU time its processes used "
            "while the batch ran (one thread gives at most 1 s per second), and how busy the whole "
            "machine's cores were (anyone's work: "
            "the client runs on the same two cores); failed requests; how late the last request reached "
            "its handler (x D after the first was sent); SYN resends the kernel counted during the point "
            "(machine-wide). The timeline below each table is one batch of that server: a bar per "
            "request from handler enter to exit, a lane per worker.",
            "",
        ]
        for server in report.servers:
            spec, work = report.catalog.servers_by_name.get(server), str(report.settings.get("work", "wait"))
            about = server_summary(spec, work) if spec else "A --target the harness did not start; no --as."
            out += [f"### {server}", "", about, "", points_table(report, server), ""]
            for p in report.pictures:
                if p.kind == "timeline" and p.key == server:
                    out += [picture(p), ""]
        out += ["## Environment", "", environment(report), ""]
        return "\n".join(out)
