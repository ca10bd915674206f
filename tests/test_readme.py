"""The README a newcomer reads: short, and every figure it quotes is the published file's."""

from __future__ import annotations

from harness.compare import publish


def test_every_result_block_equals_the_published_files() -> None:
    text = publish.README.read_text(encoding="utf-8")
    assert publish.MARKER.findall(text), "the README has no result blocks"
    assert publish.stale_blocks(text) == [], "run `python -m harness publish --readme-only` after publishing"


def test_readme_is_short_and_links_the_docs() -> None:
    text = publish.README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    for page in publish.REPO.joinpath("docs").glob("*.md"):
        assert f"docs/{page.name}" in text, f"README does not link docs/{page.name}"


def test_refresh_rewrites_a_stale_block() -> None:
    text = publish.README.read_text(encoding="utf-8")
    stale = text.replace("| `go-nethttp`", "| `go-nethttp-edited`", 1)
    assert publish.stale_blocks(stale) == ["matrix"]
    assert publish.refresh(stale) == publish.refresh(text)
