"""Two ``report.json`` files side by side: did a rerun reproduce the published one?

Per pairing: whether the behaviour the report read (concurrent, serial, ...) is the
same, and whether the ratio moved beyond noise, judged from the counted batches of
each side; per claim: whether its verdict changed; and the differences in the
environment a reader must know (versions, cores, D, N, R).

The noise test is stated, not hidden: with fewer than ``MIN_REPEATS`` counted
batches on either side nothing can be told; otherwise a pairing is *slower* when
every new batch is slower than every old one (the ranges do not overlap) and the
median moved by more than ``THRESHOLD``, *faster* the other way round, and *within
noise* else. pyperf's rule of thumb: say "not significant" rather than invent a
winner.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import UsageError
from harness.core.records import SCHEMAS

SCHEMA = SCHEMAS["compare"]

MIN_REPEATS = 3
THRESHOLD = 0.05
"""A median ratio that moved by 5 % or less is within noise whatever the ranges say."""
SETTINGS_THAT_MUST_MATCH = ("delay_s", "clients")
"""Ratios and verdicts of runs with another D or N are not comparable (``--force`` overrides)."""
ENVIRONMENT_KEYS = ("cores", "cpu_model", "python", "go", "os")
SETTING_KEYS = ("delay_s", "clients", "repeats", "work", "connections", "quick")


@dataclass(frozen=True)
class PairingDiff:
    server: str
    client: str
    old_behaviour: str
    new_behaviour: str
    old_ratio: float | None
    new_ratio: float | None
    movement: str
    """``faster``, ``slower``, ``within noise``, ``too few repeats to tell`` or ``not in both``."""

    @property
    def changed(self) -> bool:
        return self.old_behaviour != self.new_behaviour


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

    @property
    def verdicts_changed(self) -> bool:
        return any(p.changed for p in self.pairings) or any(c.changed for c in self.claims)


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


def movement(old: list[float], new: list[float]) -> str:
    """The stated noise test (see the module docstring)."""
    if len(old) < MIN_REPEATS or len(new) < MIN_REPEATS:
        return "too few repeats to tell"
    old_median, new_median = _median(old), _median(new)
    change = new_median / old_median - 1 if old_median else math.inf
    if min(new) > max(old) and change > THRESHOLD:
        return "slower"
    if max(new) < min(old) and change < -THRESHOLD:
        return "faster"
    return "within noise"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _ratios(report: dict[str, Any]) -> dict[tuple[str, str], list[float]]:
    found: dict[tuple[str, str], list[float]] = {}
    for b in report.get("batches", []):
        if not b.get("warmup") and b.get("ratio") is not None:
            found.setdefault((b["server"], b["client"]), []).append(float(b["ratio"]))
    return found


def diff(old_path: Path, new_path: Path, *, force: bool = False) -> ReportDiff:
    old, new = load(old_path), load(new_path)
    for key in SETTINGS_THAT_MUST_MATCH:
        if old["settings"].get(key) != new["settings"].get(key) and not force:
            raise UsageError(
                f"the reports differ in {key} ({old['settings'].get(key)} vs {new['settings'].get(key)}): their "
                "ratios and verdicts are not comparable; pass --force to compare them anyway"
            )
    result = ReportDiff(str(old_path), str(new_path), provenance=(old.get("provenance") or {},
                                                                   new.get("provenance") or {}))  # fmt: skip
    old_ratios, new_ratios = _ratios(old), _ratios(new)
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
                movement=movement(old_ratios.get(pair, []), new_ratios.get(pair, [])) if both else "not in both",
            )
        )
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
        f"{_commit(new_prov)}). {verdict}",
        "",
        f"A ratio moved beyond noise only when the two sides' counted batches do not overlap and the median "
        f"moved by more than {THRESHOLD:.0%}; with fewer than {MIN_REPEATS} counted batches on a side it "
        "cannot be told.",
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
         _ratio(p.old_ratio), _ratio(p.new_ratio), p.movement)
        for p in result.pairings
    ]  # fmt: skip
    headers = ["server", "client", "old", "new", "verdict", "old ratio", "new ratio", "ratio moved"]
    out += ["## Pairings", "", tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
    claim_rows = [(c.id, c.old, c.new, "same" if not c.changed else "**changed**") for c in result.claims]
    out += ["## Claims", "", tabulate(claim_rows, headers=["id", "old", "new", "verdict"], tablefmt="github"), ""]
    out += ["## What differs in the setting", ""]
    if result.differences:
        out += [tabulate(result.differences, headers=["", "old", "new"], tablefmt="github", disable_numparse=True)]
    else:
        out += ["Nothing: the same D, N, R, work, cores, CPU, Python, Go and package versions."]
    return "\n".join(out) + "\n"
