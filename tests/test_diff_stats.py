"""``harness diff`` judges a ratio with a stated test: Welch's t on log ratios, TOST for
"the same", Holm over the pairings, a noise margin for the runs' drift."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from harness.compare import diff
from harness.compare.diff import MARGIN_FLOOR, NO_BATCHES, TOO_FEW, holm, noise_margin, ratio_test
from tests.conftest import harness


def judged(old: list[float], new: list[float], margin: float = MARGIN_FLOOR) -> str:
    """The judgement of one pairing alone (Holm over one pairing changes nothing)."""
    test = ratio_test(old, new, margin)
    if test is None:
        return TOO_FEW
    return diff.replace(test, p_moved_holm=test.p_moved, p_same_holm=test.p_same).judgement


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param([1.0, 1.01, 1.02], [1.2, 1.21, 1.22], "slower", id="3 vs 3, 20 % apart, tight -> slower"),
        pytest.param([1.2, 1.21, 1.22], [1.0, 1.01, 1.02], "faster", id="3 vs 3, 20 % apart, tight -> faster"),
        pytest.param([1.0, 1.001, 1.002], [1.02, 1.021, 1.019], "the same", id="2 % apart, tight -> same within 5 %"),
        pytest.param([1.0, 1.1, 1.2], [1.05, 1.15, 1.25], "undecided", id="overlapping 20 % spread -> undecided"),
        pytest.param([5.0, 5.01, 5.02], [5.4, 5.41, 5.39], "slower", id="8 % apart at 5x -> slower"),
        pytest.param([1.0, 1.0, 1.0], [1.02, 1.02, 1.02], "the same", id="no spread, 2 % apart -> the same"),
        pytest.param([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], "slower", id="no spread, 2x -> slower"),
        pytest.param([1.0, 1.02], [1.5, 1.52], "slower", id="2 vs 2 can decide"),
        pytest.param([1.0, 1.04, 1.0, 1.04, 1.02], [1.06, 1.04, 1.08, 1.06, 1.05], "undecided", id="at the margin"),
    ],
)
def test_one_ratio_is_judged_by_welch_and_tost(old: list[float], new: list[float], expected: str) -> None:
    assert judged(old, new) == expected


def test_too_few_batches_only_below_two_a_side() -> None:
    assert ratio_test([1.0], [2.0, 2.0, 2.0]) is None
    assert ratio_test([1.0, 1.0, 1.0], [2.0]) is None
    assert ratio_test([1.0, 1.01], [1.0, 1.01]) is not None


def test_three_against_three_can_reach_the_level_after_holm_over_84_pairings() -> None:
    """The reason for Welch's t: with the default R = 3 both answers are reachable at
    0.05 / 84 (a rank test on 3 vs 3 never goes below p = 0.05 even uncorrected)."""
    same = ratio_test([1.010, 1.011, 1.012], [1.015, 1.016, 1.014])
    moved = ratio_test([1.010, 1.011, 1.012], [1.30, 1.31, 1.29])
    assert same is not None and moved is not None
    assert same.p_same < 0.05 / 84 and moved.p_moved < 0.05 / 84


def test_the_interval_is_welchs_on_the_log_ratios() -> None:
    """The change and its interval, recomputed by hand from Welch-Satterthwaite."""
    from scipy import stats

    old, new = [1.0, 1.1, 1.05], [1.2, 1.25, 1.3, 1.22]
    test = ratio_test(old, new)
    assert test is not None
    a, b = [math.log(x) for x in old], [math.log(x) for x in new]
    va, vb = stats.tvar(a) / len(a), stats.tvar(b) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    delta = sum(b) / len(b) - sum(a) / len(a)
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert test.change == pytest.approx(math.expm1(delta))
    assert (test.low, test.high) == pytest.approx((math.expm1(delta - half), math.expm1(delta + half)))
    # TOST: the larger of the two one-sided p-values against +-log(1.05)
    bound = math.log1p(MARGIN_FLOOR)
    upper = stats.t.cdf((delta - bound) / math.sqrt(va + vb), df)
    lower = stats.t.sf((delta + bound) / math.sqrt(va + vb), df)
    assert test.p_same == pytest.approx(max(upper, lower))
    assert test.p_moved == pytest.approx(min(1.0, 2 * stats.t.sf((delta - bound) / math.sqrt(va + vb), df)))


def test_holm_adjusts_step_down() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5]) == [0.5]
    assert holm([]) == []
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # never above 1
    assert holm([0.02, 0.03]) == pytest.approx([0.04, 0.04])  # never below a smaller p's


def test_the_margin_grows_with_the_runs_within_pairing_spread() -> None:
    tight = [[1.0, 1.001, 1.002]] * 5
    assert noise_margin(tight)[0] == MARGIN_FLOOR
    noisy = [[1.0, 1.1, 1.2], [2.0, 2.2, 2.4], [1.0, 1.0, 1.0]]
    margin, sd = noise_margin(noisy)
    logs = [math.log(1.0), math.log(1.1), math.log(1.2)]  # the second pairing's spread is the same, scaled
    mean = sum(logs) / 3
    assert sd == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in logs) / 2))  # the median of 0, s, s
    assert margin == pytest.approx(math.expm1(diff.DRIFT_SDS * sd)) and margin > MARGIN_FLOOR
    assert noise_margin([[1.0]]) == (MARGIN_FLOOR, 0.0)  # nothing to measure a spread on


# -- whole reports --------------------------------------------------------------------------


def report(ratios: dict[tuple[str, str], list[float]], **settings: Any) -> dict[str, Any]:
    """A minimal compare report.json: the pairings' behaviour, the counted batches' ratios."""
    batches = []
    for (server, client), values in ratios.items():
        batches.append({"server": server, "client": client, "warmup": True, "ratio": 9.0})
        batches += [{"server": server, "client": client, "warmup": False, "ratio": r} for r in values]
    return {
        "schema": diff.SCHEMA,
        "settings": {"delay_s": 0.5, "clients": 5, "repeats": 3, "work": "wait", "connections": "reuse", **settings},
        "environment": {"cores": 2},
        "pairings": [
            {"server": s, "client": c, "behaviour": "concurrent", "ratio_median": sorted(v)[len(v) // 2] if v else None}
            for (s, c), v in ratios.items()
        ],
        "claims": [{"id": "C1", "verdict": "confirmed"}],
        "batches": batches,
    }


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_holm_keeps_one_borderline_pairing_of_many_from_being_called_moved(tmp_path: Path) -> None:
    """Alone, 16 % slower at this spread is a move (p < 0.05); among 40 pairings it is not."""
    old_b, new_b = [1.0, 1.03, 1.06], [1.16, 1.19, 1.22]
    alone = ratio_test(old_b, new_b)
    assert alone is not None and 0.0005 < alone.p_moved < 0.05
    steady = {(f"s{i}", "c"): [1.0, 1.001, 1.002] for i in range(39)}
    old = write(tmp_path / "old.json", report({**steady, ("x", "c"): old_b}))
    new = write(tmp_path / "new.json", report({**steady, ("x", "c"): new_b}))
    result = diff.diff(old, new)
    x = next(p for p in result.pairings if p.server == "x")
    assert x.movement == "undecided" and x.test is not None and x.test.p_moved_holm > 0.05
    assert [p.movement for p in result.pairings if p.server != "x"] == ["the same"] * 39
    one = diff.diff(write(tmp_path / "o1.json", report({("x", "c"): old_b})),
                    write(tmp_path / "n1.json", report({("x", "c"): new_b})))  # fmt: skip
    assert one.pairings[0].movement == "slower"


def test_stolen_batches_are_left_out_and_counted(tmp_path: Path) -> None:
    data = report({("s", "c"): [1.0, 1.001, 1.002]})
    data["batches"].append({"server": "s", "client": "c", "warmup": False, "ratio": 3.0, "stolen": True})
    clean = report({("s", "c"): [1.0, 1.001, 1.002]})
    result = diff.diff(write(tmp_path / "old.json", data), write(tmp_path / "new.json", clean))
    assert result.pairings[0].movement == "the same" and result.stolen == (1, 0)
    assert "1 old and 0 new counted batches" in diff.render(result)


def test_a_side_without_batches_and_a_quick_run_are_said_so(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", report({("s", "c"): [1.0, 1.01, 1.02], ("t", "c"): [1.0, 1.01]}))
    new = write(tmp_path / "new.json", report({("s", "c"): [1.0], ("t", "c"): []}))
    result = diff.diff(old, new)
    assert [p.movement for p in result.pairings] == [TOO_FEW, NO_BATCHES]


def test_the_markdown_states_the_test_the_correction_and_the_margin(tmp_path: Path) -> None:
    ratios = {("s", "c"): [1.0, 1.001, 1.002], ("t", "c"): [5.0, 5.01, 5.02]}
    old, new = write(tmp_path / "old.json", report(ratios)), write(tmp_path / "new.json", report(ratios))
    text = diff.render(diff.diff(old, new))
    for needed in ("Welch's t-test on the natural logs", "TOST", "Holm-corrected over the 2 pairings",
                   "within +-5.0% with 95% confidence", "3 x the median within-pairing standard deviation",
                   "Ratios of 2 pairings: 2 the same."):  # fmt: skip
        assert needed in text, needed
    assert "the same, within +-5.0% (p < 0.0001)" in text


@pytest.mark.parametrize(
    ("key", "old", "new"), [("work", "wait", "cpu"), ("connections", "reuse", "fresh"), ("http", "1.1", "2")]
)
def test_a_waiting_report_is_not_diffed_against_a_computing_one(tmp_path: Path, key: str, old: str, new: str) -> None:
    ratios = {("s", "c"): [1.0, 1.001, 1.002]}
    a = write(tmp_path / "a.json", report(ratios, **{key: old}))
    b = write(tmp_path / "b.json", report(ratios, **{key: new}))
    proc = harness("diff", str(a), str(b))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"differ in {key} ({old} vs {new})" in proc.stderr
    assert harness("diff", str(a), str(b), "--force").returncode == 0


def test_a_report_from_before_work_and_connections_were_recorded_ran_waiting_and_reusing(tmp_path: Path) -> None:
    ratios = {("s", "c"): [1.0, 1.001, 1.002]}
    older = report(ratios)
    del older["settings"]["work"], older["settings"]["connections"]
    result = diff.diff(write(tmp_path / "old.json", older), write(tmp_path / "new.json", report(ratios)))
    assert result.differences == [] and result.pairings[0].movement == "the same"
    with pytest.raises(diff.UsageError, match=r"differ in work \(wait vs cpu\)"):
        diff.diff(write(tmp_path / "old.json", older), write(tmp_path / "cpu.json", report(ratios, work="cpu")))
