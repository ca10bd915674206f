"""``harness publish`` is all or nothing: parts run into a staging copy of results/,
which is swapped in, with the README's blocks, only when every part succeeded."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.compare import publish
from harness.compare.publish import PARTS, Part
from harness.core.paths import REPO

README = "# Results\n\n<!-- results:matrix -->\nstale\n<!-- /results:matrix -->\n"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes: what 'left as it was' compares."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A results/ with the published matrix and an extra file, and a README with one block."""
    (tmp_path / "results").mkdir()
    shutil.copy(REPO / "results" / "report.json", tmp_path / "results" / "report.json")
    (tmp_path / "results" / "kept.md").write_text("published by a part not run now\n")
    (tmp_path / "README.md").write_text(README)
    return tmp_path


def writes_a_report(ratio: float) -> Callable[[list[str]], int]:
    """A part that publishes results/report.json (relative: the staging folder) with one new ratio."""

    def run(argv: list[str]) -> int:
        if argv[0] != "fake":
            return main(argv)  # the real command line, for the part made to fail
        path = Path("results") / "report.json"
        data = json.loads(path.read_text())
        data["pairings"][0]["ratio_median"] = ratio
        path.write_text(json.dumps(data))
        Path("results", "new.md").write_text("a new part's file\n")
        return 0

    return run


FAKE = Part("fake", ("fake",), "rewrites results/report.json")
FAILS = Part("fails", ("compare", "--servers", "no-such-server", "--out", "results"), "bad input: exit 2")


def test_every_part_succeeded_results_and_readme_are_swapped_in(repo: Path) -> None:
    failed = publish.publish([FAKE], writes_a_report(9.87), results=repo / "results", readme=repo / "README.md")
    assert failed is None
    assert json.loads((repo / "results" / "report.json").read_text())["pairings"][0]["ratio_median"] == 9.87
    assert (repo / "results" / "new.md").exists() and (repo / "results" / "kept.md").exists()
    readme = (repo / "README.md").read_text()
    assert "stale" not in readme and "| 9.87x" in readme  # the block comes from the swapped-in files
    assert sorted(p.name for p in repo.iterdir()) == ["README.md", "results"]  # no staging folder left


@pytest.mark.parametrize("order", [[FAKE, FAILS], [FAILS, FAKE]], ids=["last part fails", "first part fails"])
def test_a_failed_part_leaves_results_and_the_readme_as_they_were(repo: Path, order: list[Part]) -> None:
    before, readme = snapshot(repo / "results"), (repo / "README.md").read_text()
    failed = publish.publish(order, writes_a_report(9.87), results=repo / "results", readme=repo / "README.md")
    assert failed == (FAILS, 2)  # the real CLI's exit status for bad input
    assert snapshot(repo / "results") == before
    assert (repo / "README.md").read_text() == readme
    assert sorted(p.name for p in repo.iterdir()) == ["README.md", "results"]


def test_a_part_that_raises_leaves_everything_as_it_was(repo: Path) -> None:
    before = snapshot(repo / "results")

    def crashes(argv: list[str]) -> int:
        Path("results", "report.json").write_text("half written")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        publish.publish([FAKE], crashes, results=repo / "results", readme=repo / "README.md")
    assert snapshot(repo / "results") == before and (repo / "README.md").read_text() == README
    assert sorted(p.name for p in repo.iterdir()) == ["README.md", "results"]


def test_a_readme_block_that_cannot_be_made_leaves_everything_as_it_was(repo: Path) -> None:
    """The README is regenerated from the staged files before anything is swapped."""
    (repo / "README.md").write_text(README + "<!-- results:cpu -->\nx\n<!-- /results:cpu -->\n")
    before = snapshot(repo / "results")
    with pytest.raises(FileNotFoundError):  # no results/cpu/report.json to make the block from
        publish.publish([FAKE], writes_a_report(9.87), results=repo / "results", readme=repo / "README.md")
    assert snapshot(repo / "results") == before


def test_published_compare_runs_have_enough_counted_batches() -> None:
    """A reader's rerun can be judged against each (``harness diff``): R >= 3, and >= 5 computing."""
    from harness.cli.options import DEFAULT_REPEATS

    compares = [p for p in PARTS if p.argv[0] == "compare" and p.reference]
    assert compares
    for part in compares:
        argv = list(part.argv)
        repeats = int(argv[argv.index("--repeats") + 1]) if "--repeats" in argv else DEFAULT_REPEATS
        work = argv[argv.index("--work") + 1] if "--work" in argv else "wait"
        assert "--quick" not in argv and repeats >= publish.MIN_REPEATS[work], part


@pytest.mark.integration
def test_a_real_part_runs_in_the_staging_folder_and_names_the_published_folder(repo: Path) -> None:
    """The real compare (one Go server, one client, --quick) writes into the staged copy;
    its report names the command as published (``--out results/quick``), not the staging folder."""
    part = Part("quick", ("compare", "--quick", "--servers", "go-nethttp", "--client-impls", "go-goroutines",
                          "--out", "results/quick"), "one pairing")  # fmt: skip
    assert publish.publish([part], main, results=repo / "results", readme=repo / "README.md") is None
    data = json.loads((repo / "results" / "quick" / "report.json").read_text())
    assert data["settings"]["command"] == "python -m harness compare " + " ".join(part.argv[1:])
    assert data["pairings"][0]["status"] == "ok"
    assert (repo / "results" / "kept.md").exists()
    assert sorted(p.name for p in repo.iterdir()) == ["README.md", "results"]
