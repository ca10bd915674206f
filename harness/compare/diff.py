"""Two ``report.json`` files side by side: did a rerun reproduce the published one?

Per pairing: whether the behaviour the report read (concurrent, serial, ...) is the
same, and how sure we are that its ratio moved or stayed, judged from the counted
batches of each side; per claim: whether its verdict changed; and the differences in
the environment a reader must know (versions, cores, D, N, R, work, connections).

The test is stated, not hidden (``method_text`` says it in the diff itself). Per
pairing, Welch's t on the natural logs of the counted batch ratios (scipy's
``ttest_ind``, ``equal_var=False``): the difference of the mean logs is the change of
the geometric-mean ratio, with its 95 % interval. Against a noise margin +-m:

- *slower* / *faster*: the change is beyond +-m (a one-sided Welch test shifted by
  m, in the direction seen, doubled for choosing it);
- *the same*: the change is within +-m (TOST, two one-sided Welch tests; its p is
  the larger of the two);
- *undecided*: neither test reaches its level; the interval says by how much.

Both families of p-values are Holm-corrected over the pairings judged, so "the same"
holds for all of them together with 95 % confidence. Welch's t needs two batches on a
side for a variance; from two on it can reach any level when the batches agree, so
"too few batches to tell" means fewer than two (the default R = 3 can decide, which a
rank test on 3 vs 3, never below p = 0.05, cannot).

Batches of one run share that run's drift (the machine, the server process), which
the spread within a pairing does not show. So a change smaller than the margin is
never called a move: m is the larger of ``MARGIN_FLOOR`` and ``DRIFT_SDS`` times the
median within-pairing standard deviation of the log ratios, over both runs; a noisy
run (CPU work on a shared machine) gets a wider margin, and says so. Batches marked
``stolen`` (the host took CPU from the machine, see ``stats``) are left out, as they
are of the verdicts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from harness.core.errors import UsageError
from harness.core.records import SCHEMAS

SCHEMA = SCHEMAS["compare"]

ALPHA = 0.05
"""The level of every test, after the Holm correction over the pairings."""
CONFIDENCE = 1 - ALPHA
MIN_BATCHES = 2
"""Welch's t needs a variance on each side; with two batches a side it can reach any level."""
MARGIN_FLOOR = 0.05
"""A ratio that moved by 5 % or less is never called a move, however tight the batches."""
DRIFT_SDS = 3.0
"""The margin is at least this many within-pairing standard deviations (of the log
ratios, median over both runs' pairings): runs differ by more than their batches do."""
SETTINGS_THAT_MUST_MATCH = ("delay_s", "clients", "work", "connections", "http")
"""Ratios and verdicts of runs with another D, N, kind of work or connection policy
are not comparable (``--force`` overrides)."""
SETTING_DEFAULTS = {"work": "wait", "connections": "reuse", "http": "1.1"}
"""What a report from before a setting existed ran with."""
ENVIRONMENT_KEYS = ("cores", "cpu_model", "python", "go", "os")
SETTING_KEYS = ("delay_s", "clients", "repeats", "work", "connections", "http", "quick")

TOO_FEW = "too few batches to tell"
NOT_IN_BOTH = "not in both"
NO_BATCHES = "no counted batches on a side"


@dataclass(frozen=True)
class RatioTest:
    """Welch's t on one pairing's log batch ratios, judged against the noise margin."""

    n_old: int
    n_new: int
    change: float
    """The new geometric-mean ratio over the old one, less 1 (+0.02: 2 % slower)."""
    low: float
    high: float
    """The 95 % interval of ``change`` (Welch's, for this pairing alone)."""
    p_moved: float
    """That the change is beyond the margin, in the direction seen (raw)."""
    p_same: float
    """That the change is within the margin: TOST, the larger one-sided p (raw)."""
    p_moved_holm: float = 1.0
    p_same_holm: float = 1.0
    """The same, Holm-corrected over every pairing judged in this diff."""

    @property
    def judgement(self) -> str:
        """``slower``, ``faster``, ``the same`` or ``undecided``, at level ``ALPHA`` after Holm."""
        if self.p_moved_holm < ALPHA:
            return "slower" if self.change > 0 else "faster"
        if self.p_same_holm < ALPHA:
            return "the same"
        return "undecided"


@dataclass(frozen=True)
class PairingDiff:
    server: str
    client: str
    old_behaviour: str
    new_behaviour: str
    old_ratio: float | None
    new_ratio: float | None
    test: RatioTest | None = None
    """``None`` when the pairing is not in both reports or a side has too few batches."""
    in_both: bool = True
    batches: tuple[int, int] = (0, 0)
    """Counted batches (not stolen) of the old and the new side."""

    @property
    def changed(self) -> bool:
        return self.old_behaviour != self.new_behaviour

    @property
    def movement(self) -> str:
        """``slower``, ``faster``, ``the same``, ``undecided``, or why there is no test."""
        if not self.in_both:
            return NOT_IN_BOTH
        if self.test:
            return self.test.judgement
        return NO_BATCHES if not all(self.batches) else TOO_FEW


@dataclass(frozen=True)
class ClaimDiff:
    id: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass
class ReportDiff:
    old_path: str
    new_path: str
    pairings: list[PairingDiff] = field(default_factory=list)
    claims: list[ClaimDiff] = field(default_factory=list)
    differences: list[tuple[str, str, str]] = field(default_factory=list)
    """(what, old, new) for settings, environment and package versions that differ."""
    provenance: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    margin: float = MARGIN_FLOOR
    """The noise margin m, relative: 'the same' is within +-m, 'moved' is beyond it."""
    within_sd: float = 0.0
    """The median within-pairing standard deviation of the log ratios, over both runs."""
    stolen: tuple[int, int] = (0, 0)
    """Counted batches left out on each side because the host stole CPU (``stolen``)."""

    @property
    def verdicts_changed(self) -> bool:
        return any(p.changed for p in self.pairings) or any(c.changed for c in self.claims)

    @property
    def judged(self) -> int:
        """Pairings whose ratio the test judged (both sides with enough batches)."""
        return sum(p.test is not None for p in self.pairings)


def load(path: Path) -> dict[str, Any]:
    """A compare report, or a one-line ``UsageError`` saying why it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read {str(path)!r} as a report.json: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise UsageError(f"{str(path)!r} is not a compare report.json (schema {found!r}, expected {SCHEMA!r})")
    return data


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _sd(values: list[float]) -> float:
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def noise_margin(samples: list[list[float]]) -> tuple[float, float]:
    """(m, s): the relative margin and the median within-pairing SD ``s`` of the log
    ratios over ``samples`` (each one pairing's batch ratios in one run)."""
    sds = sorted(_sd([math.log(r) for r in ratios]) for ratios in samples if len(ratios) >= MIN_BATCHES)
    if not sds:
        return MARGIN_FLOOR, 0.0
    mid = len(sds) // 2
    sd = sds[mid] if len(sds) % 2 else (sds[mid - 1] + sds[mid]) / 2
    return max(MARGIN_FLOOR, math.expm1(DRIFT_SDS * sd)), sd


def ratio_test(old: list[float], new: list[float], margin: float = MARGIN_FLOOR) -> RatioTest | None:
    """Welch's t on the log ratios against +-``margin``; ``None`` with too few batches
    (the p-values are raw: ``diff`` Holm-corrects them over the pairings)."""
    if len(old) < MIN_BATCHES or len(new) < MIN_BATCHES:
        return None
    from scipy import stats  # loaded only when there is something to test

    bound = math.log1p(margin)
    centre = _mean([math.log(r) for r in old])  # centred: no precision lost on near-equal values
    a = [math.log(r) - centre for r in old]
    b = [math.log(r) - centre for r in new]
    delta = _mean(b) - _mean(a)
    se = math.sqrt(_sd(a) ** 2 / len(a) + _sd(b) ** 2 / len(b))
    if se < 1e-12:  # every batch of both sides the same: the change is exact
        beyond, within = abs(delta) > bound, abs(delta) < bound
        return RatioTest(len(old), len(new), math.expm1(delta), math.expm1(delta), math.expm1(delta),
                         p_moved=0.0 if beyond else 1.0, p_same=0.0 if within else 1.0)  # fmt: skip

    def welch(shift: float, alternative: Literal["less", "greater"]) -> float:
        return float(stats.ttest_ind([x - shift for x in b], a, equal_var=False, alternative=alternative).pvalue)

    interval = stats.ttest_ind(b, a, equal_var=False).confidence_interval(CONFIDENCE)
    up = delta > 0
    p_moved = min(1.0, 2 * welch(bound if up else -bound, "greater" if up else "less"))
    p_same = max(welch(bound, "less"), welch(-bound, "greater"))  # H0: change >= +m; H0: change <= -m
    return RatioTest(len(old), len(new), math.expm1(delta), math.expm1(float(interval.low)),
                     math.expm1(float(interval.high)), p_moved=p_moved, p_same=p_same)  # fmt: skip


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values: the family-wise error stays at the level."""
    order = sorted(range(len(pvalues)), key=pvalues.__getitem__)
    adjusted, running = [1.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _ratios(report: dict[str, Any]) -> tuple[dict[tuple[str, str], list[float]], int]:
    """The counted batch ratios per pairing, and how many were left out as stolen."""
    found: dict[tuple[str, str], list[float]] = {}
    stolen = 0
    for b in report.get("batches", []):
        if b.get("warmup") or b.get("ratio") is None or not b["ratio"] > 0:
            continue
        if b.get("stolen"):
            stolen += 1
            continue
        found.setdefault((b["server"], b["client"]), []).append(float(b["ratio"]))
    return found, stolen


def diff(old_path: Path, new_path: Path, *, force: bool = False) -> ReportDiff:
    old, new = load(old_path), load(new_path)
    for report in (old, new):
        report["settings"] = {**SETTING_DEFAULTS, **report["settings"]}
    for key in SETTINGS_THAT_MUST_MATCH:
        if old["settings"].get(key) != new["settings"].get(key) and not force:
            raise UsageError(
                f"the reports differ in {key} ({old['settings'].get(key)} vs {new['settings'].get(key)}): their "
                "ratios and verdicts are not comparable; pass --force to compare them anyway"
            )
    (old_ratios, old_stolen), (new_ratios, new_stolen) = _ratios(old), _ratios(new)
    margin, within_sd = noise_margin([*old_ratios.values(), *new_ratios.values()])
    result = ReportDiff(str(old_path), str(new_path), provenance=(old.get("provenance") or {},
                                                                   new.get("provenance") or {}),
                        margin=margin, within_sd=within_sd, stolen=(old_stolen, new_stolen))  # fmt: skip
    old_rows = {(p["server"], p["client"]): p for p in old["pairings"]}
    new_rows = {(p["server"], p["client"]): p for p in new["pairings"]}
    for pair in [*old_rows, *(k for k in new_rows if k not in old_rows)]:
        o, n = old_rows.get(pair, {}), new_rows.get(pair, {})
        both = bool(o) and bool(n)
        result.pairings.append(
            PairingDiff(
                server=pair[0],
                client=pair[1],
                old_behaviour=str(o.get("behaviour", o.get("status", "not in this report"))) if o else "not run",
                new_behaviour=str(n.get("behaviour", n.get("status", "not in this report"))) if n else "not run",
                old_ratio=o.get("ratio_median"),
                new_ratio=n.get("ratio_median"),
                test=ratio_test(old_ratios.get(pair, []), new_ratios.get(pair, []), margin) if both else None,
                in_both=both,
                batches=(len(old_ratios.get(pair, [])), len(new_ratios.get(pair, []))),
            )
        )
    tests = [(i, p.test) for i, p in enumerate(result.pairings) if p.test is not None]
    moved, same = holm([t.p_moved for _, t in tests]), holm([t.p_same for _, t in tests])
    for (i, t), p_moved, p_same in zip(tests, moved, same, strict=True):
        result.pairings[i] = replace(result.pairings[i], test=replace(t, p_moved_holm=p_moved, p_same_holm=p_same))
    old_claims = {c["id"]: c["verdict"] for c in old.get("claims", [])}
    new_claims = {c["id"]: c["verdict"] for c in new.get("claims", [])}
    for cid in [*old_claims, *(c for c in new_claims if c not in old_claims)]:
        result.claims.append(ClaimDiff(cid, old_claims.get(cid, "not checked"), new_claims.get(cid, "not checked")))
    for key in SETTING_KEYS:
        a, b = old["settings"].get(key), new["settings"].get(key)
        if a != b:
            result.differences.append((key, str(a), str(b)))
    old_env, new_env = old.get("environment", {}), new.get("environment", {})
    for key in ENVIRONMENT_KEYS:
        if old_env.get(key) != new_env.get(key):
            result.differences.append((key, str(old_env.get(key)), str(new_env.get(key))))
    old_pkgs, new_pkgs = old_env.get("packages", {}), new_env.get("packages", {})
    for pkg in sorted(set(old_pkgs) | set(new_pkgs)):
        if old_pkgs.get(pkg) != new_pkgs.get(pkg):
            result.differences.append((pkg, str(old_pkgs.get(pkg, "-")), str(new_pkgs.get(pkg, "-"))))
    return result


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _commit(prov: dict[str, Any]) -> str:
    if not prov:
        return "not recorded"
    return f"`{str(prov.get('commit', 'unknown'))[:12]}`" + (" (dirty)" if prov.get("dirty") else "")


def _pct(value: float) -> str:
    return f"{value * 100:+.1f} %"


def _p(value: float) -> str:
    return "p < 0.0001" if value < 1e-4 else f"p = {value:.2g}"


def change_cell(test: RatioTest | None) -> str:
    """'+0.8 % (-0.3 % to +1.9 %)': the change of the geometric-mean ratio and its 95 % interval."""
    if test is None:
        return "-"
    return f"{_pct(test.change)} ({_pct(test.low)} to {_pct(test.high)})"


def judged_cell(p: PairingDiff, margin: float) -> str:
    """The judgement with the Holm-corrected p-value it rests on."""
    if p.test is None:
        return p.movement
    t = p.test
    if t.judgement == "the same":
        return f"the same, within +-{margin:.1%} ({_p(t.p_same_holm)})"
    if t.judgement in ("slower", "faster"):
        return f"{t.judgement}, beyond {margin:.1%} ({_p(t.p_moved_holm)})"
    return f"undecided (moved: {_p(t.p_moved_holm)}; the same: {_p(t.p_same_holm)})"


def method_text(result: ReportDiff) -> str:
    """The test, the correction and the margin, in words, with this diff's numbers."""
    m = result.margin
    stolen = ""
    if any(result.stolen):
        stolen = (
            f" Left out: {result.stolen[0]} old and {result.stolen[1]} new counted batches during which the host "
            "stole CPU from the machine (marked `stolen` in the reports)."
        )
    return (
        f"**How a ratio is judged.** Per pairing, Welch's t-test on the natural logs of the counted batch ratios "
        f"(old against new): the change is that of the geometric-mean ratio, shown with its "
        f"{CONFIDENCE:.0%} interval. *The same*: within +-{m:.1%} by TOST (two one-sided Welch tests); *slower* "
        f"or *faster*: beyond +-{m:.1%} (a one-sided Welch test shifted by the margin); *undecided*: neither. "
        f"Every p-value is Holm-corrected over the {result.judged} pairings judged, at level {ALPHA:g}, so the "
        f"pairings called the same are all within +-{m:.1%} with {CONFIDENCE:.0%} confidence. Batches of one run "
        f"share its drift, which their spread does not show, so the noise margin is the larger of "
        f"{MARGIN_FLOOR:.0%} and {DRIFT_SDS:g} x the median within-pairing standard deviation of the log ratios "
        f"over both runs ({result.within_sd:.2%} here): a smaller change is never called a move. "
        f"*{TOO_FEW.capitalize()}*: fewer than {MIN_BATCHES} counted batches on a side (Welch's t needs a "
        f"variance on each).{stolen}"
    )


def ratio_summary(result: ReportDiff) -> str:
    counts: dict[str, int] = {}
    for p in result.pairings:
        counts[p.movement] = counts.get(p.movement, 0) + 1
    order = ["the same", "slower", "faster", "undecided", TOO_FEW, NO_BATCHES, NOT_IN_BOTH]
    parts = [f"{counts[k]} {k}" for k in order if counts.get(k)]
    return f"Ratios of {len(result.pairings)} pairings: {', '.join(parts) or 'none'}."


def render(result: ReportDiff) -> str:
    """The diff as markdown: changed verdicts first, then every pairing, then the environment."""
    from tabulate import tabulate

    changed = [p for p in result.pairings if p.changed]
    changed_claims = [c for c in result.claims if c.changed]
    old_prov, new_prov = result.provenance
    verdict = (
        "**Every verdict is the same.**"
        if not result.verdicts_changed
        else f"**{len(changed)} pairing(s) and {len(changed_claims)} claim(s) changed verdict.**"
    )
    out = [
        "# Two comparison reports side by side",
        "",
        f"Old: `{result.old_path}` (commit {_commit(old_prov)}); new: `{result.new_path}` (commit "
        f"{_commit(new_prov)}). {verdict} {ratio_summary(result)}",
        "",
        method_text(result),
        "",
    ]
    if changed or changed_claims:
        out += ["## What changed", ""]
        out += [f"- `{p.server}` x `{p.client}`: {p.old_behaviour} -> {p.new_behaviour} "
                f"({_ratio(p.old_ratio)} -> {_ratio(p.new_ratio)})" for p in changed]  # fmt: skip
        out += [f"- {c.id}: {c.old} -> {c.new}" for c in changed_claims]
        out += [""]
    rows = [
        (p.server, p.client, p.old_behaviour, p.new_behaviour, "same" if not p.changed else "**changed**",
         _ratio(p.old_ratio), _ratio(p.new_ratio), change_cell(p.test), judged_cell(p, result.margin))
        for p in result.pairings
    ]  # fmt: skip
    headers = ["server", "client", "old", "new", "verdict", "old ratio", "new ratio",
               f"change ({CONFIDENCE:.0%} interval)", "ratio judged (Holm p)"]  # fmt: skip
    out += ["## Pairings", "", tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
    claim_rows = [(c.id, c.old, c.new, "same" if not c.changed else "**changed**") for c in result.claims]
    out += ["## Claims", "", tabulate(claim_rows, headers=["id", "old", "new", "verdict"], tablefmt="github"), ""]
    out += ["## What differs in the setting", ""]
    if result.differences:
        out += [tabulate(result.differences, headers=["", "old", "new"], tablefmt="github", disable_numparse=True)]
    else:
        out += ["Nothing: the same D, N, R, work, connections, cores, CPU, Python, Go and package versions."]
    return "\n".join(out) + "\n"
