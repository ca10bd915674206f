"""The question answered in words, from the published files and nothing else.

``paragraph(results)`` writes the README's answer block: which setups hold N requests
at once while their handlers wait, which run computing handlers in parallel and at
what parallelism, where the first ones stop holding (the sweep) and what each
sustains (the load run). Every figure in it is read from a file under ``results/``
(the waiting and computing matrices, ``sweep.json``, ``load.json``, ``http2/``); a
sentence whose file or fields are missing is left out, never guessed, so the block
follows the published files as their content grows. ``publish`` calls this, and the
README test compares the block with a fresh one: an edited figure fails it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

Data = Mapping[str, Any]
ARTICLE_CLIENT = "go-goroutines"
"""The client the answer quotes: the article's own (the others agree where the server decides)."""


def _read(path: Path) -> Data | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _names(items: Iterable[str]) -> str:
    names = [f"`{n}`" for n in items]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]


def _span(values: list[float], fmt: str, unit: str = "") -> str:
    lo, hi = min(values), max(values)
    return f"{lo:{fmt}}{unit}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}{unit} to {hi:{fmt}}{unit}"


def _rows(report: Data) -> list[Data]:
    """One pairing per server: the article's client, else the first concurrent client measured."""
    pairings = [p for p in report.get("pairings", []) if p.get("ratio_median") is not None]
    clients = list(dict.fromkeys(p["client"] for p in pairings if p["client"] != "httpx-sequential"))
    if not clients:
        return []
    client = ARTICLE_CLIENT if ARTICLE_CLIENT in clients else clients[0]
    return [p for p in pairings if p["client"] == client]


def _by(rows: list[Data], behaviour: str) -> list[Data]:
    return [p for p in rows if p.get("behaviour") == behaviour]


def _where(report: Data, path: str) -> str:
    s = report["settings"]
    return f"D = {s['delay_s']:g} s, N = {s['clients']}, [`{path}`]({path})"


def _ratios(rows: list[Data]) -> str:
    return _span([p["ratio_median"] for p in rows], ".2f", "x")


def _rejected(rows: list[Data]) -> str:
    each = ", ".join(f"`{p['server']}` {p['rejected']} of {p['clients'] * p['repeats']}" for p in rows)
    return f"{each} turned away at once (rejected, not queued)"


def waiting(report: Data, path: str, lead: str = "While the handlers wait", protocol: str | None = None) -> str | None:
    """Which setups held all N at once, which took them in turn, from one waiting matrix.

    ``protocol``: only pairings the server answered in it (a report without the field
    counts as all in it); the setups that answered in another are named apart."""
    rows = _rows(report)
    other = [p for p in rows if protocol and p.get("protocol", protocol) != protocol]
    rows = [p for p in rows if p not in other]
    held = _by(rows, "concurrent")
    if not rows or report.get("settings", {}).get("work") != "wait":
        return None
    n = report["settings"]["clients"]
    parts = []
    if held:
        parts.append(f"{len(held)} of {len(rows)} setups held all {n} requests at once ({_ratios(held)} D)")
    if serial := _by(rows, "serial"):
        parts.append(f"{_names(p['server'] for p in serial)} took them one at a time ({_ratios(serial)})")
    if bounded := _by(rows, "bounded"):
        parts.append(f"{_names(p['server'] for p in bounded)} in waves ({_ratios(bounded)})")
    # every turning-away behaviour ("rejecting", "rejecting all", "rejecting other than k") is counted
    if rejecting := [p for p in rows if str(p.get("behaviour", "")).startswith("rejecting")]:
        parts.append(_rejected(rejecting))
    if other:
        parts.append(f"{_names(p['server'] for p in other)} answered in {other[0]['protocol']} instead")
    if not parts:
        return None
    return f"**{lead}** ({_where(report, path)}, client `{rows[0]['client']}`): {_join(parts)}."


def computing(report: Data, path: str) -> str | None:
    """Which setups ran computing handlers in parallel, and at what parallelism."""
    rows = [p for p in _rows(report) if p.get("parallelism") is not None]
    if not rows or report.get("settings", {}).get("work") != "cpu":
        return None
    cores = report.get("environment", {}).get("cores")
    parts = []
    if parallel := _by(rows, "parallel"):
        parts.append(f"{_with(parallel)} ran them in parallel")
    if between := _by(rows, "in between"):
        parts.append(f"{_with(between)} partly so")
    if interleaved := _by(rows, "interleaved"):
        parts.append(
            f"{_names(p['server'] for p in interleaved)} held all {report['settings']['clients']} but took turns "
            f"on one core (parallelism {_span([p['parallelism'] for p in interleaved], '.2f')})"
        )
    if serial := _by(rows, "serial"):
        parts.append(f"{_names(p['server'] for p in serial)} ran one at a time")
    if bounded := _by(rows, "bounded"):
        parts.append(f"{_with(bounded)} in waves")
    if not parts:
        return None
    on = f", {cores} cores" if cores else ""
    return (
        f"**When they compute for D instead** ({_where(report, path)}{on}; in brackets the parallelism, the "
        f"servers' CPU seconds over the batch's wall seconds): {_join(parts)}."
    )


def _with(rows: list[Data]) -> str:
    each = [f"`{p['server']}` ({p['parallelism']:.2f})" for p in rows]
    return each[0] if len(each) == 1 else ", ".join(each[:-1]) + " and " + each[-1]


def _held(server: str, cap: Data, points: list[Data]) -> str:
    measured = cap["measured"]
    if cap.get("measured_at_least"):
        return f"`{server}` all {measured}"
    ok = [p for p in points if p["server"] == server and p.get("status") == "ok" and p["clients"] > measured]
    if not ok:
        return f"`{server}` {measured}"
    then = [f"{ok[0]['ratio']:.2f}x at N = {ok[0]['clients']}"]
    if ok[-1] is not ok[0]:
        then.append(f"{ok[-1]['ratio']:.2f}x at N = {ok[-1]['clients']}")
    return f"`{server}` {measured} ({', '.join(then)})"


def sweep(data: Data, path: str) -> str | None:
    """How many each server held at once before it stopped holding."""
    caps = [c for c in data.get("capacity", []) if c.get("measured") is not None]
    if not caps:
        return None
    s = data["settings"]
    ladder = s.get("ladder") or [1]
    ones = [c["server"] for c in caps if c["measured"] == 1 and not c.get("measured_at_least")]
    more = [_held(c["server"], c, data.get("points", [])) for c in caps if c["server"] not in ones]
    if ones:
        more.append(f"{_names(ones)} 1")
    return (
        f"**Asked for more at once** (D = {s['delay_s']:g} s, N = {min(ladder)} to {max(ladder)}, "
        f"[`{path}`]({path})): they held {', '.join(more)}."
    )


def _sustained(cap: Data) -> str:
    name, rps = f"`{cap['server']}`", cap["measured_rps"]
    if cap.get("limited_by") == "client":
        limit = cap.get("client_limit_rps")
        return f"{name} at least {rps:g}/s (the load client's limit{f', {limit:g}/s' if limit else ''})"
    if cap.get("verdict") == "consistent" and cap.get("predicted_rps") is None:
        return f"{name} every step up to {rps:g}/s"
    model = f" (k / D = {cap['predicted_rps']:g}/s)" if cap.get("predicted_rps") else ""
    return f"{name} {rps:g}/s{model}"


def load(data: Data, path: str) -> str | None:
    """What each server sustained under an open stream of requests."""
    caps = [c for c in data.get("capacity", []) if c.get("measured_rps") is not None]
    if not caps:
        return None
    s = data["settings"]
    return (
        f"**Under a steady stream of requests** (D = {s['delay_s']:g} s, [`{path}`]({path})): they sustained "
        f"{', '.join(_sustained(c) for c in caps)}."
    )


SENTENCES: tuple[tuple[tuple[str, ...], Callable[[Data, str], str | None]], ...] = (
    (("all/report.json", "report.json"), waiting),
    (("cpu/report.json",), computing),
    (("sweep.json",), sweep),
    (("load.json",), load),
    (
        ("http2/report.json",),
        lambda r, p: waiting(r, p, lead="Over HTTP/2, N streams on one connection, waiting", protocol="HTTP/2"),
    ),
)
"""Each sentence and the published files it may be read from (the first found), in the order told."""


def paragraph(results: Path) -> str:
    """The answer block: one item per published file found, in words and their figures."""
    said = []
    for names, sentence in SENTENCES:
        name = next((n for n in names if (results / n).is_file()), names[0])
        data = _read(results / name)
        report_md = name.replace("report.json", "report.md").replace(".json", ".md")
        try:
            text = sentence(data, f"results/{report_md}") if data is not None else None
        except (KeyError, TypeError, ValueError, IndexError):
            text = None  # a file of another shape: its sentence is left out, not guessed
        if text:
            said.append(text)
    return "\n".join(f"- {s}" for s in said) if said else "No published results yet: `nox -s publish` writes them."


def quick(results: Path) -> str:
    """How ``--quick`` compares with the full run: time taken and verdicts, from both published reports."""
    full, fast = _read(results / "report.json"), _read(results / "quick" / "report.json")
    if full is None or fast is None:
        return ""
    try:
        verdicts = {c["id"]: c["verdict"] for c in full["claims"]}
        same = [c["id"] for c in fast["claims"] if verdicts.get(c["id"]) == c["verdict"]]
        differ = [f"{c['id']} {c['verdict']} (full: {verdicts.get(c['id'], 'not checked')})"
                  for c in fast["claims"] if c["id"] not in same]  # fmt: skip
        f, q = full["settings"], fast["settings"]
        told = (
            f"Published beside the full run, [`results/quick/`](results/quick/report.md): `--quick` (D = "
            f"{q['delay_s']:g} s, R = {q['repeats']}) took {q['duration_s']:.0f} s against {f['duration_s']:.0f} s "
            f"(D = {f['delay_s']:g} s, R = {f['repeats']}), with the same verdict on {len(same)} of "
            f"{len(fast['claims'])} claims"
        )
    except (KeyError, TypeError, ValueError):
        return ""
    return told + (f"; it differs on {', '.join(differ)}." if differ else ".")
