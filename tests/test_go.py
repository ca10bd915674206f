"""The Go side: the article's verbatim client, go vet, and the build cache."""

from __future__ import annotations

import subprocess

from harness.core import gobuild
from harness.core.paths import GO_DIR

ARTICLE = GO_DIR / "article" / "main.go"


def vet(*packages: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [gobuild.find_go(), "vet", *packages],
        cwd=GO_DIR,
        env=gobuild.go_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_article_copy_is_verbatim() -> None:
    text = ARTICLE.read_text()
    assert 'Hello  string `json: "hello"`' in text
    assert 'res, err := http.Get("http://localhost:8000/?client=" + s)' in text
    assert 'fmt.Printf("!! %s took %s", name, elapsed)' in text
    assert "\t" not in text  # published with spaces, not gofmt'd


def test_go_vet_reports_the_articles_struct_tags() -> None:
    proc = vet("./article")
    assert proc.returncode != 0
    assert "bad syntax for struct tag value" in proc.stderr


def test_go_vet_passes_on_our_code() -> None:
    proc = vet("./server", "./client", "./loadclient", "./internal/...")
    assert proc.returncode == 0, proc.stderr


def test_go_tests_pass() -> None:
    """The Go packages' own tests (the load client's schedule, flags and a short run on loopback)."""
    proc = subprocess.run(
        [gobuild.find_go(), "test", "./loadclient/", "./internal/...", "./evidencehttp/"],
        cwd=GO_DIR,
        env=gobuild.go_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_build_is_cached(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = gobuild.build(GO_DIR, tmp_path)
    second = gobuild.build(GO_DIR, tmp_path)
    assert not first.cached and second.cached
    assert first.binaries == second.binaries
    assert all(p.is_file() for p in second.binaries.values())
