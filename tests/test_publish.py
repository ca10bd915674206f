"""Results you can cite and reproduce: provenance, diff, latency and throughput, --quick."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.compare import report
from harness.compare.json import JsonExporter
from harness.compare.markdown import MarkdownExporter
from harness.core.environment import provenance
from tests.conftest import harness
from tests.helpers import fixed_results


def rendered(folder: Path, exporter: JsonExporter | MarkdownExporter) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    results = fixed_results(folder)
    try:
        return exporter.render(report.build(results))
    finally:
        results.close()


def write_report(folder: Path) -> Path:
    path = folder / "report.json"
    text = rendered(folder, JsonExporter())
    path.write_text(text)
    return path


def test_provenance_names_the_commit_and_whether_the_code_was_clean(tmp_path: Path) -> None:
    prov = provenance("python -m harness compare", tmp_path / "git.log")
    assert re.fullmatch(r"[0-9a-f]{40}", prov["commit"]), prov
    assert isinstance(prov["dirty"], bool)
    assert prov["command"] == "python -m harness compare" and prov["created"].endswith("+00:00")


def test_every_report_carries_its_provenance(tmp_path: Path) -> None:
    data = json.loads(write_report(tmp_path).read_text())
    assert data["provenance"]["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert "provenance" not in data["environment"]  # once, at the top
    md = rendered(tmp_path, MarkdownExporter())
    assert "`0123456789abcdef0123456789abcdef01234567`" in md


def test_latency_percentiles_and_throughput_per_pairing(tmp_path: Path) -> None:
    data = json.loads(write_report(tmp_path).read_text())
    p = next(p for p in data["pairings"] if (p["server"], p["client"]) == ("go-nethttp", "go-goroutines"))
    assert p["latency_p50_s"] <= p["latency_p90_s"] <= p["latency_p99_s"] <= p["latency_max_s"]
    assert p["latency_p50_s"] == pytest.approx(0.202)  # the fixed requests: 200 ms held, 1 ms either side
    # 10 answered requests over two counted batches of 1.01 and 1.03 x 0.2 s
    assert p["requests_per_s"] == pytest.approx(10 / (0.2 * 2.04))
    assert "## Latency and throughput" in rendered(tmp_path, MarkdownExporter())


def test_diff_of_a_run_with_itself_says_every_verdict_is_the_same(tmp_path: Path) -> None:
    old, new = write_report(tmp_path / "a"), write_report(tmp_path / "b")
    proc = harness("diff", str(old), str(new))
    assert proc.returncode == 0, proc.stderr
    assert "Every verdict is the same." in proc.stdout
    # two counted batches a side: Welch's t can judge them, and identical batches are the same
    assert "too few batches to tell" not in proc.stdout
    assert "Ratios of 4 pairings: 3 the same, 1 no counted batches on a side." in proc.stdout  # one failed


def test_diff_names_the_cell_whose_verdict_changed_and_exits_1(tmp_path: Path) -> None:
    old, new = write_report(tmp_path / "a"), write_report(tmp_path / "b")
    data = json.loads(new.read_text())
    for p in data["pairings"]:
        if (p["server"], p["client"]) == ("go-nethttp", "go-goroutines"):
            p["behaviour"] = "serial"
    data["claims"][0]["verdict"] = "refuted"
    new.write_text(json.dumps(data))
    out = tmp_path / "diff.md"
    proc = harness("diff", str(old), str(new), "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    text = out.read_text()
    assert "- `go-nethttp` x `go-goroutines`: concurrent -> serial" in text
    assert "- C1: confirmed -> refuted" in text


def test_diff_refuses_what_is_not_a_report_and_runs_of_another_d(tmp_path: Path) -> None:
    old = write_report(tmp_path / "a")
    junk = tmp_path / "junk.json"
    junk.write_text('{"schema": "something/else"}')
    proc = harness("diff", str(old), str(junk))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "is not a compare report.json" in proc.stderr
    other = write_report(tmp_path / "b")
    data = json.loads(other.read_text())
    data["settings"]["delay_s"] = 0.5
    other.write_text(json.dumps(data))
    proc = harness("diff", str(old), str(other))
    assert proc.returncode == 2 and "differ in delay_s (0.2 vs 0.5)" in proc.stderr
    proc = harness("diff", str(old), str(other), "--force")
    assert proc.returncode == 0, proc.stderr
    assert "| delay_s |" in proc.stdout


def test_quick_sets_d_and_r_itself() -> None:
    proc = harness("compare", "--quick", "--delay", "1")
    assert proc.returncode == 2 and "--quick sets --delay and --repeats itself" in proc.stderr
