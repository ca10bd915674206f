"""Publishing: every published artefact regenerated from the current code, on purpose.

``python -m harness publish`` (``nox -s publish``) refuses a tree whose code has
uncommitted changes (a published report must name the commit that made it), runs
each part into a staging copy of ``results/`` and only when every part succeeded
swaps it in and rewrites the README's result blocks from those files (``publish``):
a part that fails leaves ``results/`` and the README as they were, never half
rewritten. The plan is data (``PARTS``): adding a part is one entry. A README block
sits between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` and is
generated here and nowhere else, so a test can check that every figure the README
quotes equals the published file's (``stale_blocks``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.compare import answer, figures
from harness.compare.stats import STEAL_MAX_SHARE, nagle
from harness.core import catalog_docs
from harness.core.errors import UsageError
from harness.core.paths import REPO

RESULTS = REPO / "results"
README = REPO / "README.md"


@dataclass(frozen=True)
class Part:
    name: str
    argv: tuple[str, ...]
    """The harness command line; ``--out`` is relative (``results/...``): it runs in the staging folder."""
    what: str
    reference: bool = True
    """A run a reader's rerun is judged against (``MIN_REPEATS`` holds for it); ``False`` for
    one published only to show what an option gives (the ``--quick`` run beside the full one)."""


PARTS: tuple[Part, ...] = (
    Part("compare", ("compare", "--out", "results"), "the article's matrix: results/report.md"),
    Part("quick", ("compare", "--quick", "--out", "results/quick"),
         "the same matrix with --quick, beside the full one: results/quick/", reference=False),
    Part("all", ("compare", "--servers", "all", "--client-impls", "all", "--delay", "0.2", "--repeats", "3",
                 "--out", "results/all"),
         "every setup and every client, waiting: results/all/"),
    Part("http2", ("compare", "--http", "2", "--servers", "all", "--client-impls", "all", "--delay", "0.2",
                   "--repeats", "3", "--out", "results/http2"),
         "the h2c setups x the clients that speak HTTP/2, five streams of one connection: results/http2/"),
    Part("http2-cpu", ("compare", "--http", "2", "--servers", "all", "--client-impls", "all", "--work", "cpu",
                       "--delay", "0.2", "--repeats", "5", "--out", "results/http2/cpu"),
         "the same, computing: results/http2/cpu/"),
    Part("cpu",
         ("compare", "--servers", "all", "--work", "cpu", "--delay", "0.2", "--repeats", "5", "--out", "results/cpu"),
         "every setup, computing: results/cpu/"),
    Part("sweep", ("sweep", "--out", "results"), "N = 1 .. 1000 at once: results/sweep.md"),
    Part("load", ("load", "--out", "results"), "sustained load against offered rate: results/load.md"),
    Part("locust", ("locust-run", "--out", "results/locust"),
         "Locust's master and two workers on this host against go-nethttp: results/locust/"),
    Part("bench", ("bench", "--out", "results/bench"), "the harness measuring itself: results/bench/"),
    Part("figures", ("figures", "--results", "results", "--out", "results/pictures"),
         "the matrix heatmap and the parallelism chart, drawn from all/ and cpu/: results/pictures/"),
)  # fmt: skip
"""The publish plan, in order: each part is one harness command line. ``figures`` draws
from what ``all`` and ``cpu`` wrote, so it comes after them."""
DEFAULT_PARTS = tuple(p.name for p in PARTS)
PICTURES = "results/pictures"
"""Where ``figures`` puts the heatmap the README shows (relative to the repository)."""
MIN_REPEATS = {"wait": 3, "cpu": 5}
"""Counted batches a published compare run needs, by kind of work, so that a reader's
rerun can be judged against it (``harness diff``: Welch's t; CPU work is noisier)."""


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _md(rows: list[list[str]], headers: list[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _ratio(p: Mapping[str, Any], with_range: bool = True) -> str:
    if p.get("ratio_median") is None:
        return p.get("status", "not measured")
    cell = f"{p['ratio_median']:.2f}x"
    if with_range and (p.get("repeats") or 0) > 1:
        cell += f" ({p['ratio_min']:.2f}-{p['ratio_max']:.2f})"
    if p.get("d_too_small"):
        cell += " D too small"
    if nagle(p):
        cell += " (delayed ACK)"
    return cell


def _nagle_note(report: Mapping[str, Any], path: str) -> str:
    """What the (delayed ACK) mark means, with each marked cell's evidence; empty when none is marked."""
    rows = [p for p in report["pairings"] if nagle(p)]
    if not rows:
        return ""
    each = "; ".join(f"`{p['server']}` x `{p['client']}` {p['ack_delayed']} of {p['ack_checked']} at "
                     f"{p['ack_delay_s'] * 1e3:.0f} ms" for p in rows)  # fmt: skip
    return (
        "\n\n**(delayed ACK)**: answers that reached the client about 40 ms after their handler returned, on "
        f"connections kept open ({each}): Nagle's algorithm holding a response's second send for the client's "
        f"delayed ACK, a cost per response and not of concurrency; evidence in [`{path}`]({path})."
    )


def _grid(report: Mapping[str, Any], cell: Callable[[Mapping[str, Any]], str], clients: list[str]) -> str:
    by = {(p["server"], p["client"]): p for p in report["pairings"]}
    servers = list(dict.fromkeys(p["server"] for p in report["pairings"]))
    rows = [[f"`{s}`", *(cell(by[(s, c)]) if (s, c) in by else "-" for c in clients)] for s in servers]
    return _md(rows, ["server", *clients])


def _clients(report: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys(p["client"] for p in report["pairings"]))


def _source(report: Mapping[str, Any], path: str) -> str:
    prov, s, env = report.get("provenance") or {}, report["settings"], report["environment"]
    commit = str(prov.get("commit", "unknown"))[:12]
    return (
        f"From [`{path}`]({path}) (`{s['command']}`, {str(prov.get('created', env['date']))[:16].replace('T', ' ')} "
        f"UTC, commit `{commit}`; D = {s['delay_s']:g} s, N = {s['clients']}, R = {s['repeats']}, "
        f"{env['cores']} usable cores, {s.get('duration_s', 0):.0f} s)."
    )


def block_matrix(results: Path) -> str:
    report = _load(results / "report.json")
    return (
        _source(report, "results/report.md")
        + "\n\n"
        + _grid(report, _ratio, _clients(report))
        + _nagle_note(report, "results/report.md")
    )


def block_claims(results: Path) -> str:
    report = _load(results / "report.json")
    rows = [[c["id"], c["text"], c["expected"], c["verdict"], c["measured"]] for c in report["claims"]]
    return _md(rows, ["id", "claim", "expected", "verdict", "measured"])


def _evidence(p: Mapping[str, Any]) -> str:
    if p.get("ratio_median") is None:
        return p.get("status", "-")
    par = p.get("parallelism")
    parallel = f", parallelism {par:.2f}" if par is not None else ""
    calls = f" = {p['calls_median']:.2f} calls" if p.get("calls_median") is not None else ""
    return f"{_ratio(p, with_range=False)}{calls}: {p['max_in_flight']} in flight{parallel}"


def block_cpu(results: Path) -> str:
    report = _load(results / "cpu" / "report.json")
    concurrent = [c for c in _clients(report) if c != "httpx-sequential"]
    claims = [[c["id"], c["text"], c["verdict"], c["measured"]] for c in report["claims"]]
    return (
        _source(report, "results/cpu/report.md")
        + " Each cell: batch wall time / D"
        + (" and in calls (a multiple of that server's own solo call in the run)" if _has_calls(report) else "")
        + ", the most requests in flight, and parallelism (the server's CPU seconds over the batch's wall "
        "seconds)."
        + _stolen(report)
        + "\n\n"
        + _grid(report, _evidence, concurrent)
        + "\n\n"
        + _md(claims, ["id", "claim", "verdict", "measured"])
    )


def _has_calls(report: Mapping[str, Any]) -> bool:
    return any(p.get("calls_median") is not None for p in report["pairings"])


def _stolen(report: Mapping[str, Any]) -> str:
    """The batches left out because the host stole CPU (reports since steal is recorded)."""
    if not any("stolen" in b for b in report.get("batches", [])):
        return ""
    counted = [b for b in report["batches"] if not b["warmup"]]
    left = sum(bool(b["stolen"]) for b in counted)
    steal = sorted(b["steal_share"] for b in counted if b.get("steal_share") is not None)
    most = f"; the host's steal per batch was at most {steal[-1]:.1%}" if steal else ""
    return f" {left} of {len(counted)} counted batches left out for steal above {STEAL_MAX_SHARE:.0%}{most}."


def block_all(results: Path) -> str:
    report = _load(results / "all" / "report.json")
    beyond = [[c["id"], c["text"], c["verdict"], c["measured"]] for c in report["claims"] if not c["article"]]
    return (
        _source(report, "results/all/report.md")
        + "\n\n"
        + _grid(report, _ratio, _clients(report))
        + "\n\n"
        + _md(beyond, ["id", "claim", "verdict", "measured"])
    )


def block_sweep(results: Path) -> str:
    sweep = _load(results / "sweep.json")
    rows = [[f"`{c['server']}`", str(c["declared"] if c["declared"] is not None else "unbounded"),
             c["declared_reason"], ("" if c["measured"] is None else (">= " if c["measured_at_least"] else "")
                                    + str(c["measured"])), c["verdict"]] for c in sweep["capacity"]]  # fmt: skip
    prov, s = sweep.get("provenance") or {}, sweep["settings"]
    head = (
        f"From [`results/sweep.md`](results/sweep.md) (`{s['command']}`, commit "
        f"`{str(prov.get('commit', 'unknown'))[:12]}`; D = {s['delay_s']:g} s, budget {s['budget_s']:g} s, "
        f"client `{s['client']}`, {s.get('duration_s', 0):.0f} s)."
    )
    return head + "\n\n" + _md(rows, ["server", "declared k", "why", "measured k", "verdict"])


def block_answer(results: Path) -> str:
    return answer.paragraph(results)


def block_heatmap(results: Path) -> str:
    """The heatmap and its caption, once ``figures`` has drawn it; nothing before."""
    png = results / "pictures" / f"{figures.MATRIX}.png"
    if not png.is_file():
        return ""
    try:
        caption = figures.caption(figures.read(results / "all" / "report.json"),
                                  figures.read(results / "cpu" / "report.json"))  # fmt: skip
    except UsageError:
        return ""
    path = f"{PICTURES}/{figures.MATRIX}.png"
    return f"[![Batch wall time / D, every setup, waiting and computing]({path})]({path})\n\n<sub>{caption}</sub>"


def block_quick(results: Path) -> str:
    return answer.quick(results)


BLOCKS: dict[str, Callable[[Path], str]] = {
    "answer": block_answer,
    "heatmap": block_heatmap,
    "quick": block_quick,
    "matrix": block_matrix,
    "claims": block_claims,
    "all": block_all,
    "cpu": block_cpu,
    "sweep": block_sweep,
}
MARKER = re.compile(r"(<!-- results:(\w+) -->\n)(.*?)(\n<!-- /results:\2 -->)", re.S)


def refresh(text: str, results: Path = RESULTS) -> str:
    """The README with every result block regenerated from the published files."""

    def replace(m: re.Match[str]) -> str:
        name = m.group(2)
        if name not in BLOCKS:
            raise UsageError(
                f"README has a results block {name!r} this harness does not know; known: {', '.join(BLOCKS)}"
            )
        return m.group(1) + BLOCKS[name](results) + m.group(4)

    return MARKER.sub(replace, text)


DOCS = REPO / "docs"
PLAN_MARKER = re.compile(r"(<!-- publish:parts -->\n)(.*?)(\n<!-- /publish:parts -->)", re.S)


def plan_table() -> str:
    """The publish plan as the docs show it: each part, its command line, what it writes."""
    rows = [[f"`{p.name}`", f"`python -m harness {' '.join(p.argv)}`", p.what] for p in PARTS]
    return _md(rows, ["part", "command", "writes"])


def docs_text(text: str) -> str:
    """A docs page with its generated parts regenerated: the catalog's lists and the publish plan."""
    return PLAN_MARKER.sub(lambda m: m.group(1) + plan_table() + m.group(3), catalog_docs.refresh(text))


def refresh_docs(docs: Path = DOCS) -> list[str]:
    """Rewrite the generated parts of every docs page (``docs_text``); the names of the pages changed."""
    changed = []
    for page in sorted(docs.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        fresh = docs_text(text)
        if fresh != text:
            page.write_text(fresh, encoding="utf-8")
            changed.append(page.name)
    return changed


def publish(
    parts: Sequence[Part],
    run: Callable[[list[str]], int],
    *,
    results: Path = RESULTS,
    readme: Path = README,
    announce: Callable[[Part], None] = lambda part: None,
) -> tuple[Part, int] | None:
    """Run ``parts`` into a staging copy of ``results`` (beside it, so the swap is a
    rename), then swap it in and rewrite the README's blocks from it. Returns the part
    that failed and its exit status, with ``results`` and the README untouched, or
    ``None``. The copy keeps what the parts not run now published before."""
    stage = Path(tempfile.mkdtemp(prefix=".publish-", dir=results.parent))
    try:
        staged = stage / results.name
        if results.exists():
            shutil.copytree(results, staged, symlinks=True)
        else:
            staged.mkdir()
        with contextlib.chdir(stage):  # every part's --out results/... lands in the copy
            for part in parts:
                announce(part)
                code = run(list(part.argv))
                if code != 0:
                    return part, code
        fresh = stage / readme.name
        fresh.write_text(refresh(readme.read_text(encoding="utf-8"), staged), encoding="utf-8")
        _swap(staged, results, stage / "previous")
        os.replace(fresh, readme)
        return None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _swap(new: Path, current: Path, previous: Path) -> None:
    """``new`` becomes ``current`` by two renames; on a failure ``current`` is put back."""
    if current.exists():
        current.rename(previous)
    try:
        new.rename(current)
    except OSError:
        if previous.exists():
            previous.rename(current)
        raise


def stale_blocks(text: str, results: Path = RESULTS) -> list[str]:
    """Names of the README's result blocks that differ from what the published files give."""
    fresh = {m.group(2): m.group(3) for m in MARKER.finditer(refresh(text, results))}
    return [m.group(2) for m in MARKER.finditer(text) if fresh[m.group(2)] != m.group(3)]
