"""The answer at the top of the README: every figure from a published file, nothing when a file is missing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harness.compare import answer, figures, publish

RESULTS = publish.RESULTS


def copy_of(tmp_path: Path, *names: str) -> Path:
    """A results folder holding only ``names`` (files or folders) of the published one."""
    out = tmp_path / "results"
    out.mkdir()
    for name in names:
        src, dst = RESULTS / name, out / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy(src, dst)
    return out


def test_every_item_quotes_its_published_file() -> None:
    text = answer.paragraph(RESULTS)
    items = text.splitlines()
    assert [i.split("**")[1] for i in items][:4] == [
        "While the handlers wait", "When they compute for D instead", "Asked for more at once",
        "Under a steady stream of requests",
    ]  # fmt: skip
    cpu = json.loads((RESULTS / "cpu" / "report.json").read_text())
    go = next(p for p in cpu["pairings"] if (p["server"], p["client"]) == ("go-nethttp", "go-goroutines"))
    assert f"`go-nethttp` ({go['parallelism']:.2f})" in items[1]
    sweep = json.loads((RESULTS / "sweep.json").read_text())
    cap = next(c for c in sweep["capacity"] if c["server"] == "django-runserver")
    first = next(p for p in sweep["points"] if p["server"] == "django-runserver" and p["clients"] > cap["measured"])
    assert f"`django-runserver` {cap['measured']} ({first['ratio']:.2f}x at N = {first['clients']}" in items[2]
    load = json.loads((RESULTS / "load.json").read_text())
    for c in load["capacity"]:
        assert f"`{c['server']}`" in items[3] and f"{c['measured_rps']:g}/s" in items[3]


def test_an_edited_figure_makes_the_readme_stale() -> None:
    text = publish.README.read_text(encoding="utf-8")
    block = text[text.index("<!-- results:answer -->") : text.index("<!-- /results:answer -->")]
    figure = re.search(r"\d+\.\d\dx", block)
    assert figure, "the answer quotes no ratio"
    edited = text.replace(block, block.replace(figure.group(0), "0.50x", 1))
    assert publish.stale_blocks(edited) == ["answer"]


def test_a_missing_file_leaves_its_sentence_out(tmp_path: Path) -> None:
    only_sweep = copy_of(tmp_path, "sweep.json")
    text = answer.paragraph(only_sweep)
    assert text.count("\n") == 0 and text.startswith("- **Asked for more at once**")
    assert answer.paragraph(tmp_path) == "No published results yet: `nox -s publish` writes them."
    (only_sweep / "load.json").write_text('{"capacity": [{"server": "x"}]}')  # another shape: left out
    assert answer.paragraph(only_sweep) == text


def test_the_article_matrix_stands_in_for_a_missing_all(tmp_path: Path) -> None:
    text = answer.paragraph(copy_of(tmp_path, "report.json"))
    assert "[`results/report.md`](results/report.md)" in text and "D = 0.5 s" in text


def test_a_client_limited_ceiling_is_named_as_such(tmp_path: Path) -> None:
    out = copy_of(tmp_path, "load.json")
    data = json.loads((out / "load.json").read_text())
    data["capacity"][0].update(limited_by="client", client_limit_rps=1234.5)
    (out / "load.json").write_text(json.dumps(data))
    text = answer.paragraph(out)
    assert f"`{data['capacity'][0]['server']}` at least" in text and "the load client's limit, 1234.5/s" in text


def test_quick_beside_the_full_run(tmp_path: Path) -> None:
    out = copy_of(tmp_path, "report.json")
    assert answer.quick(out) == ""  # no quick run published: nothing said
    quick = json.loads((out / "report.json").read_text())
    quick["settings"].update(delay_s=0.2, repeats=1, duration_s=61.0, quick=True)
    quick["claims"][5]["verdict"] = "refuted"
    (out / "quick").mkdir()
    (out / "quick" / "report.json").write_text(json.dumps(quick))
    text = answer.quick(out)
    n = len(quick["claims"])
    assert "took 61 s against" in text and f"the same verdict on {n - 1} of {n} claims" in text
    assert f"{quick['claims'][5]['id']} refuted (full: confirmed)" in text


def test_the_heatmap_shows_once_drawn(tmp_path: Path) -> None:
    out = copy_of(tmp_path, "all/report.json", "cpu/report.json")
    assert publish.block_heatmap(out) == ""
    pictures = figures.draw(out, out / "pictures")
    assert [p.kind for p in pictures] == [figures.MATRIX, figures.PARALLELISM]
    block = publish.block_heatmap(out)
    commit = json.loads((out / "all" / "report.json").read_text())["provenance"]["commit"][:12]
    assert "results/pictures/matrix.png" in block and f"commit {commit}" in block and "2 cores" in block


def test_the_heatmap_writes_every_cell_and_the_chart_every_group(tmp_path: Path) -> None:
    out = copy_of(tmp_path, "all/report.json", "cpu/report.json")
    figures.draw(out, out / "pictures")
    svg = (out / "pictures" / "matrix.svg").read_text()
    waiting = json.loads((out / "all" / "report.json").read_text())
    cells = {(p["server"], p["client"]) for p in waiting["pairings"]}
    assert len(re.findall(r'<g id="cell-', svg)) == 2 * len(cells)
    chart = (out / "pictures" / "parallelism.svg").read_text()
    groups = {b.group for b in figures.bars(json.loads((out / "cpu" / "report.json").read_text()))}
    assert groups == set(figures.GROUPS)  # Go, processes, threads and one thread all published
    for group in figures.GROUPS:
        assert group in chart


@pytest.mark.parametrize("name", [p.name for p in publish.PARTS])
def test_every_publish_part_is_a_command_the_harness_parses(name: str) -> None:
    from harness.cli.main import parser

    part = next(p for p in publish.PARTS if p.name == name)
    args = parser().parse_args(list(part.argv))
    assert args.run is not None and any(a.startswith("results") for a in part.argv)


def test_the_readme_matrix_marks_and_explains_a_delayed_ack_cell(tmp_path: Path) -> None:
    out = copy_of(tmp_path, "report.json")
    data = json.loads((out / "report.json").read_text())
    for pairing in data["pairings"]:  # the published report may carry them: start from none
        for field in ("ack_checked", "ack_delayed", "ack_delay_s", "answer_gap_s"):
            pairing.pop(field, None)
    (out / "report.json").write_text(json.dumps(data))
    assert "(delayed ACK)" not in publish.block_matrix(out)  # a report without the fields: nothing claimed
    p = next(p for p in data["pairings"] if (p["server"], p["client"]) == ("django-runserver", "go-goroutines"))
    p.update(ack_checked=15, ack_delayed=15, ack_delay_s=0.0416, answer_gap_s=0.0416)
    (out / "report.json").write_text(json.dumps(data))
    block = publish.block_matrix(out)
    assert block.count("(delayed ACK)") == 2  # the cell, and the note under the table
    assert "`django-runserver` x `go-goroutines` 15 of 15 at 42 ms" in block


def test_http2_counts_only_what_was_answered_over_http2(tmp_path: Path) -> None:
    out = copy_of(tmp_path, "all/report.json")
    data = json.loads((out / "all" / "report.json").read_text())
    for p in data["pairings"]:
        p["protocol"] = "HTTP/1.1" if p["server"] == "django-runserver" else "HTTP/2"
    (out / "http2").mkdir()
    (out / "http2" / "report.json").write_text(json.dumps(data))
    item = answer.paragraph(out).splitlines()[-1]
    assert item.startswith("- **Over HTTP/2") and "[`results/http2/report.md`]" in item
    n = len({p["server"] for p in data["pairings"]})
    assert f"of {n - 1} setups" in item and "`django-runserver` answered in HTTP/1.1 instead" in item
