"""harness.compare.diff, exactly: two small reports that differ in every way a diff reads
(pairings in one report only, stolen and warm-up batches, changed verdicts and claims,
settings, environment and package versions), their diff field by field and its markdown
word for word (``tests/fixtures/mutants/diff.md``), and the bounds of the helpers.
Written for ``nox -s mutants`` (docs/mutants.md).

After an intended change of the diff's wording, rewrite the fixture with
``MUTANTS_REGENERATE=1 pytest tests/test_mutants_diff.py`` and read its diff."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from harness.compare import diff
from harness.compare.diff import (
    SCHEMA,
    ClaimDiff,
    PairingDiff,
    RatioTest,
    ReportDiff,
    holm,
    judged_cell,
    noise_margin,
    ratio_summary,
    ratio_test,
)
from harness.core.errors import UsageError

FIXTURE = Path(__file__).parent / "fixtures" / "mutants" / "diff.md"


def batches(server: str, client: str, ratios: list[float | None], **kw: Any) -> list[dict[str, Any]]:
    return [{"server": server, "client": client, "ratio": r, **kw} for r in ratios]


def old_report() -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "provenance": {"commit": "0123456789abcdef", "dirty": True},
        "settings": {"delay_s": 0.5, "clients": 5, "repeats": 3, "quick": False},
        "environment": {
            "cores": 2,
            "cpu_model": "A",
            "python": "3.11",
            "go": "1.22",
            "os": "linux",
            "packages": {"httpx": "0.27", "gone": "1"},
        },
        "pairings": [
            {"server": "go", "client": "py", "behaviour": "concurrent", "ratio_median": 1.02},
            {"server": "dj", "client": "py", "behaviour": "serial", "ratio_median": 5.1},
            {"server": "fa", "client": "py", "status": "failed"},
            {"server": "old-only", "client": "py", "behaviour": "concurrent", "ratio_median": 1.0},
            {"server": "few", "client": "py", "behaviour": "concurrent", "ratio_median": 1.0},
        ],
        "batches": [
            *batches("go", "py", [1.0, 1.02, 1.04]),
            *batches("go", "py", [9.0], warmup=True),
            *batches("go", "py", [None, 0.0]),
            *batches("dj", "py", [5.0, 5.1, 5.2]),
            *batches("dj", "py", [50.0], stolen=True),
            *batches("few", "py", [1.0, 1.0]),
        ],
        "claims": [{"id": "X1", "verdict": "confirmed"}, {"id": "X2", "verdict": "refuted"}],
    }


def new_report() -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "provenance": {},
        "settings": {"delay_s": 0.5, "clients": 5, "repeats": 4, "work": "wait", "connections": "reuse", "quick": True},
        "environment": {
            "cores": 4,
            "cpu_model": "A",
            "python": "3.12",
            "go": "1.22",
            "os": "linux",
            "packages": {"httpx": "0.28", "new": "2"},
        },
        "pairings": [
            {"server": "go", "client": "py", "behaviour": "concurrent", "ratio_median": 1.01},
            {"server": "dj", "client": "py", "behaviour": "concurrent", "ratio_median": 1.1},
            {"server": "fa", "client": "py", "behaviour": "concurrent"},
            {"server": "new-only", "client": "py", "behaviour": "serial", "ratio_median": 5.0},
            {"server": "few", "client": "py", "behaviour": "concurrent", "ratio_median": 1.0},
        ],
        "batches": [
            *batches("go", "py", [1.01, 1.02, 1.03, 1.02]),
            *batches("dj", "py", [1.0, 1.1, 1.2, 1.1]),
            *batches("dj", "py", [2.0], stolen=True),
            *batches("dj", "py", [3.0], stolen=True),
            *batches("few", "py", [1.0]),
        ],
        "claims": [{"id": "X2", "verdict": "refuted"}, {"id": "X3", "verdict": "confirmed"}],
    }


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def run(tmp_path: Path) -> ReportDiff:
    return diff.diff(write(tmp_path / "old.json", old_report()), write(tmp_path / "new.json", new_report()))


def test_the_diff_field_by_field(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.stolen == (1, 2)
    assert result.provenance == ({"commit": "0123456789abcdef", "dirty": True}, {})
    assert [(p.server, p.old_behaviour, p.new_behaviour, p.old_ratio, p.new_ratio, p.in_both, p.batches,
             p.movement) for p in result.pairings] == [
        ("go", "concurrent", "concurrent", 1.02, 1.01, True, (3, 4), "the same"),
        ("dj", "serial", "concurrent", 5.1, 1.1, True, (3, 4), "faster"),
        ("fa", "failed", "concurrent", None, None, True, (0, 0), diff.NO_BATCHES),
        ("old-only", "concurrent", "not run", 1.0, None, False, (0, 0), diff.NOT_IN_BOTH),
        ("few", "concurrent", "concurrent", 1.0, 1.0, True, (2, 1), diff.TOO_FEW),
        ("new-only", "not run", "serial", None, 5.0, False, (0, 0), diff.NOT_IN_BOTH),
    ]  # fmt: skip
    assert [p.client for p in result.pairings] == ["py"] * 6
    assert result.claims == [ClaimDiff("X1", "confirmed", "not checked"), ClaimDiff("X2", "refuted", "refuted"),
                             ClaimDiff("X3", "not checked", "confirmed")]  # fmt: skip
    assert result.differences == [
        ("repeats", "3", "4"), ("quick", "False", "True"), ("cores", "2", "4"), ("python", "3.11", "3.12"),
        ("gone", "1", "-"), ("httpx", "0.27", "0.28"), ("new", "-", "2"),
    ]  # fmt: skip
    assert result.judged == 2 and result.verdicts_changed
    go, dj = result.pairings[0].test, result.pairings[1].test
    assert go is not None and dj is not None
    assert (go.n_old, go.n_new, dj.n_old, dj.n_new) == (3, 4, 3, 4)
    # Holm over the two judged pairings: the smaller p doubled, the larger kept (not below the first)
    assert (go.p_same_holm, dj.p_same_holm) == (pytest.approx(2 * go.p_same), pytest.approx(dj.p_same))
    assert (dj.p_moved_holm, go.p_moved_holm) == (pytest.approx(2 * dj.p_moved), pytest.approx(go.p_moved))
    assert dj.change == pytest.approx(math.exp(sum(map(math.log, [1.0, 1.1, 1.2, 1.1])) / 4 -
                                               sum(map(math.log, [5.0, 5.1, 5.2])) / 3) - 1)  # fmt: skip


def test_the_markdown_word_for_word(tmp_path: Path) -> None:
    text = diff.render(run(tmp_path)).replace(str(tmp_path), "TMP")
    if os.environ.get("MUTANTS_REGENERATE"):
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(text, encoding="utf-8")
    assert text == FIXTURE.read_text(encoding="utf-8")


def test_nothing_differs(tmp_path: Path) -> None:
    same = old_report()
    same["batches"] = [b for b in same["batches"] if not b.get("stolen")]
    result = diff.diff(write(tmp_path / "a.json", same), write(tmp_path / "b.json", same))
    assert result.differences == [] and not result.verdicts_changed
    text = diff.render(result)
    assert "(commit `0123456789ab` (dirty)). **Every verdict is the same.** Ratios of" in text
    assert "(Welch's t needs a variance on each).\n" in text
    assert text.endswith(
        "## What differs in the setting\n\nNothing: the same D, N, R, work, connections, cores, CPU, Python, "
        "Go and package versions.\n"
    )
    assert "## What changed" not in text
    assert "Left out:" not in text
    assert "commit `0123456789ab` (dirty)" in text


def test_a_claim_alone_changes_the_verdict(tmp_path: Path) -> None:
    new = old_report()
    new["claims"] = [{"id": "X1", "verdict": "refuted"}, {"id": "X2", "verdict": "refuted"}]
    result = diff.diff(write(tmp_path / "a.json", old_report()), write(tmp_path / "b.json", new))
    assert result.verdicts_changed
    assert "**0 pairing(s) and 1 claim(s) changed verdict.**" in diff.render(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read '{path}' as a report.json: "),
        ("{", "cannot read '{path}' as a report.json: "),
        ("[1]", "'{path}' is not a compare report.json (schema 'list', expected '" + SCHEMA + "')"),
        ('{"schema": "x"}', "'{path}' is not a compare report.json (schema 'x', expected '" + SCHEMA + "')"),
    ],
)
def test_load_says_why_a_file_is_not_a_report(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        diff.load(path)
    assert str(exc.value).startswith(message.format(path=path))


def test_load_reads_a_report(tmp_path: Path) -> None:
    assert diff.load(write(tmp_path / "r.json", {"schema": SCHEMA, "x": 1})) == {"schema": SCHEMA, "x": 1}
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(UsageError, match="cannot read"):
        diff.load(tmp_path / "bad.json")


def test_settings_that_must_match(tmp_path: Path) -> None:
    new = old_report()
    new["settings"]["clients"] = 10
    a, b = write(tmp_path / "a.json", old_report()), write(tmp_path / "b.json", new)
    with pytest.raises(UsageError) as exc:
        diff.diff(a, b)
    assert str(exc.value) == (
        "the reports differ in clients (5 vs 10): their ratios and verdicts are not comparable; "
        "pass --force to compare them anyway"
    )
    assert ("clients", "5", "10") in diff.diff(a, b, force=True).differences
    new["settings"]["clients"], new["settings"]["connections"] = 5, "new"
    with pytest.raises(UsageError, match="differ in connections \\(reuse vs new\\)"):
        diff.diff(a, write(tmp_path / "b.json", new))


def test_ratio_test_exact_and_bounds() -> None:
    exact = ratio_test([1.0, 1.0], [1.2, 1.2])
    assert exact == RatioTest(2, 2, pytest.approx(0.2), pytest.approx(0.2), pytest.approx(0.2), 0.0, 1.0)
    assert ratio_test([1.0, 1.0], [1.01, 1.01]) == RatioTest(
        2, 2, pytest.approx(0.01), pytest.approx(0.01), pytest.approx(0.01), 1.0, 0.0
    )
    assert ratio_test([1.0, 1.0], [1.2, 1.2], margin=0.3) == RatioTest(
        2, 2, pytest.approx(0.2), pytest.approx(0.2), pytest.approx(0.2), 1.0, 0.0
    )
    assert ratio_test([1.0], [1.0, 1.0]) is None and ratio_test([1.0, 1.0], [1.0]) is None
    up = ratio_test([1.0, 1.1, 1.2], [2.0, 2.1, 2.2])
    down = ratio_test([2.0, 2.1, 2.2], [1.0, 1.1, 1.2])
    assert up is not None and down is not None
    assert up.p_moved == pytest.approx(down.p_moved) and up.p_moved < 0.01
    assert up.p_same > 0.99
    assert up.low < up.change < up.high
    wide = ratio_test([1.0, 1.5], [1.0, 1.5])
    assert wide is not None and wide.p_moved == 1.0 and 0.05 < wide.p_same < 1


def test_judgement_is_strictly_below_the_level() -> None:
    def judged(p_moved: float, p_same: float, change: float = 0.1) -> str:
        return RatioTest(2, 2, change, 0, 0, 1, 1, p_moved_holm=p_moved, p_same_holm=p_same).judgement

    assert judged(0.05, 0.0) == "the same"
    assert judged(0.049, 1.0) == "slower"
    assert judged(0.049, 1.0, change=-0.1) == "faster"
    assert judged(0.049, 1.0, change=0.0) == "faster"
    assert judged(1.0, 0.05) == "undecided"
    assert RatioTest(2, 2, 0, 0, 0, 1, 1).judgement == "undecided"


def test_holm_values() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([]) == []


def test_noise_margin_median() -> None:
    assert noise_margin([[1.0]]) == (0.05, 0.0)
    sds = [0.01, 0.02, 0.03]
    samples = [[math.exp(s / math.sqrt(2)), math.exp(-s / math.sqrt(2))] for s in sds]
    m, sd = noise_margin(samples)
    assert sd == pytest.approx(0.02) and m == pytest.approx(math.expm1(0.06))
    m2, sd2 = noise_margin([*samples[:2], [1.0]])
    assert sd2 == pytest.approx(0.015) and m2 == 0.05


def test_cells_and_summary() -> None:
    t = RatioTest(2, 2, 0.1, 0.05, 0.15, 0.01, 0.5, p_moved_holm=0.00001, p_same_holm=0.5)
    p = PairingDiff("s", "c", "a", "a", 1.0, 1.1, test=t, batches=(2, 2))
    assert judged_cell(p, 0.05) == "slower, beyond 5.0% (p < 0.0001)"
    same = PairingDiff("s", "c", "a", "a", 1.0, 1.0, test=RatioTest(2, 2, 0, 0, 0, 1, 1, 1.0, 0.0001), batches=(2, 2))
    assert judged_cell(same, 0.05) == "the same, within +-5.0% (p = 0.0001)"
    undecided = PairingDiff("s", "c", "a", "a", 1.0, 1.0, test=RatioTest(2, 2, 0, 0, 0, 1, 1, 0.5, 0.25),
                            batches=(2, 2))  # fmt: skip
    assert judged_cell(undecided, 0.05) == "undecided (moved: p = 0.5; the same: p = 0.25)"
    assert diff.change_cell(t) == "+10.0 % (+5.0 % to +15.0 %)"
    assert diff.change_cell(None) == "-"
    result = ReportDiff("a", "b", pairings=[p, same, same])
    assert ratio_summary(result) == "Ratios of 3 pairings: 2 the same, 1 slower."
    assert ratio_summary(ReportDiff("a", "b", pairings=[undecided])) == "Ratios of 1 pairings: 1 undecided."
    assert ratio_summary(ReportDiff("a", "b")) == "Ratios of 0 pairings: none."
    assert diff._commit({}) == "not recorded"
    assert diff._commit({"dirty": False}) == "`unknown`"


def test_a_bare_report(tmp_path: Path) -> None:
    """Only what a report must hold: no batches, claims, environment; a pairing without a behaviour."""
    bare = {"schema": SCHEMA, "settings": {"delay_s": 0.5, "clients": 5}, "pairings": [{"server": "s", "client": "c"}]}
    new = {**bare, "provenance": {"commit": "abc"}, "pairings": [{"server": "s", "client": "c", "behaviour": "x"}]}
    result = diff.diff(write(tmp_path / "a.json", bare), write(tmp_path / "b.json", new))
    assert result.provenance == ({}, {"commit": "abc"})
    assert [(p.old_behaviour, p.new_behaviour) for p in result.pairings] == [("not in this report", "x")]
    assert result.claims == [] and result.differences == []
    text = diff.render(result)
    assert "new: `" + str(tmp_path / "b.json") + "` (commit `abc`)." in text
    assert "- `s` x `c`: not in this report -> x (- -> -)" in text
    back = diff.diff(write(tmp_path / "b.json", new), write(tmp_path / "a.json", bare))
    assert [(p.old_behaviour, p.new_behaviour) for p in back.pairings] == [("x", "not in this report")]


def test_numbers_in_the_tables_are_printed_as_given(tmp_path: Path) -> None:
    old = {"schema": SCHEMA, "settings": {"delay_s": 0.5, "clients": 5}, "environment": {"packages": {"x": "1.10"}},
           "pairings": [{"server": "1.10", "client": "2.50", "behaviour": "1.0"}]}  # fmt: skip
    new = {**old, "environment": {"packages": {"x": "2.50"}}}
    text = diff.render(diff.diff(write(tmp_path / "a.json", old), write(tmp_path / "b.json", new)))
    assert "| 1.10     | 2.50     |" in text
    assert "| x  | 1.10  | 2.50  |" in text
