"""Docs that cannot go stale: every ``--flag`` a page names is one some parser defines,
every claim id is in the claims table, every count of servers is the catalog's, and
the generated lists equal the catalog's. The parsers, the catalog and the claims are
read as they are now, so the checks follow them as options and entries land.

``problems(pages)`` is the checker; the last test shows it catching one stale flag,
one stale claim id and one stale count in a copy of a page.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

from harness.cli.main import parser
from harness.compare import publish
from harness.core import catalog_docs
from harness.core.catalog import CATALOG
from harness.core.claims import CLAIMS, CLAIMS_BY_ID

REPO = publish.REPO
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

FOREIGN = {
    "locust": {"--expect-workers", "--headless", "--master", "--master-bind-host", "--master-bind-port",
               "--master-host", "--master-port", "--processes", "--worker", "--csv", "--host", "--only-summary"},
    "uv and pip": {"--group", "--python-version", "--universal", "--upgrade", "--upgrade-package", "--no-deps",
                   "--only-binary"},
    "gunicorn": {"--worker-connections", "--http-protocols", "--http2-cleartext"},
    "uvicorn": {"--fd"},
    "debootstrap": {"--variant", "--include"},
    "mount, sysctl and the shell": {"--bind", "--rbind", "--make-rslave"},
    "curl": {"--http2-prior-knowledge", "--parallel"},
}  # fmt: skip
"""Flags of other tools the docs show (Locust's command lines, uv's compile, a server's
own options); every other ``--flag`` must be one a harness parser defines."""

FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")
CLAIM_ID = re.compile(r"\b([CXG])(\d+)\b")
CLAIM_RANGE = re.compile(r"\b([CXG])(\d+)\s*\.\.\s*([CXG])(\d+)\b")
COUNTS = (
    re.compile(r"\b(\d+) (?:catalog )?(?:servers|setups)\b"),
    re.compile(r"`all` \((\d+)\)"),
    re.compile(r"\ball (\d+) (?:servers|setups|entries)\b"),
)
CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.S)
COMMAND = re.compile(r"python -m harness ([\w-]+)(.*)|nox -s ([\w-]+)(?: -- (.*))?")
GENERATED = re.compile(r"<!-- (results|catalog|publish):(\w+) -->.*?<!-- /\1:\2 -->", re.S)


@cache
def harness_flags() -> dict[str, frozenset[str]]:
    """Every subcommand's option strings (``""``: the top level), read from the parsers."""
    found: dict[str, set[str]] = {}

    def walk(p: argparse.ArgumentParser, name: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    walk(child, sub)
            else:
                found.setdefault(name, set()).update(o for o in action.option_strings if o.startswith("--"))

    walk(parser(), "")
    return {k: frozenset(v) for k, v in found.items()}


def known_flags() -> set[str]:
    catalog = {part for e in (*CATALOG.servers, *CATALOG.clients) for part in e.command if FLAG.fullmatch(part)}
    return set().union(*harness_flags().values(), catalog, *FOREIGN.values())


def _code(text: str) -> Iterable[str]:
    """Each line of code in a page (fenced blocks and inline spans), continuation lines joined."""
    for m in CODE.finditer(text):
        yield from (m.group(1) or m.group(2) or "").replace("\\\n", " ").splitlines()


def _commands(line: str) -> Iterable[tuple[str, str]]:
    """(subcommand, its arguments) for every harness command in a line of code."""
    for part in re.split(r"&&|\|\||;|\|(?!\|)|(?<!\\)&(?!&)|\s#\s", line):
        for m in COMMAND.finditer(part):
            if m.group(1):
                yield m.group(1), m.group(2)
            elif m.group(3) in harness_flags():
                yield m.group(3), m.group(4) or ""


def problems(pages: Iterable[Path]) -> list[str]:
    """Every stale flag, claim id and server count in ``pages``, one line each."""
    flags, subs = known_flags(), harness_flags()
    counts = {len(CATALOG.servers), sum(s.default for s in CATALOG.servers)}
    top = {prefix: max(int(c.id[1:]) for c in CLAIMS if c.id[0] == prefix) for prefix in "CXG"}
    found = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        prose = GENERATED.sub("", text)  # generated blocks are checked against their sources elsewhere
        where = page.name
        for line in _code(text):
            for sub, rest in _commands(line):
                if sub not in subs:
                    found.append(f"{where}: `{line.strip()}`: no subcommand {sub!r}")
                    continue
                for flag in FLAG.findall(rest):
                    if flag not in subs[sub]:
                        found.append(f"{where}: `{line.strip()}`: {sub} has no option {flag}")
        for flag in sorted(set(FLAG.findall(text)) - flags):
            found.append(f"{where}: no parser defines {flag}")
        for m in CLAIM_ID.finditer(prose):
            if m.group(0) not in CLAIMS_BY_ID:
                found.append(f"{where}: claim {m.group(0)} does not exist")
        for m in CLAIM_RANGE.finditer(prose):
            prefix, low, high = m.group(1), int(m.group(2)), int(m.group(4))
            if m.group(3) == prefix and low == 1 and high != top[prefix] and prefix == "C":
                found.append(f"{where}: {m.group(0)} is not every claim (they go to {prefix}{top[prefix]})")
        for pattern in COUNTS:
            for m in pattern.finditer(prose):
                if int(m.group(1)) not in counts:
                    found.append(f"{where}: {m.group(0)!r}, but the catalog has {len(CATALOG.servers)} servers "
                                 f"({sum(s.default for s in CATALOG.servers)} by default)")  # fmt: skip
    return found


def test_the_docs_name_only_flags_claims_and_counts_that_exist() -> None:
    assert problems(PAGES) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_catalogs_lists_in_the_docs_are_the_catalogs(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert publish.docs_text(text) == text, f"run `python -m harness publish --readme-only` ({page.name})"
    for m in catalog_docs.MARKER.finditer(text):
        assert m.group(2) in catalog_docs.BLOCKS, f"{page.name}: unknown block catalog:{m.group(2)}"


def test_every_list_is_shown_somewhere() -> None:
    shown = {m.group(2) for page in PAGES for m in catalog_docs.MARKER.finditer(page.read_text(encoding="utf-8"))}
    assert shown == set(catalog_docs.BLOCKS)


def test_a_new_server_shows_in_the_generated_list() -> None:
    extra = CATALOG.servers[0].model_copy(update={"name": "my-new-server"})
    table = catalog_docs.servers(type(CATALOG)((*CATALOG.servers, extra), CATALOG.clients))
    assert "`my-new-server`" in table and f"{len(CATALOG.servers) + 1} servers" in table


def test_a_stale_copy_fails_on_each_kind(tmp_path: Path) -> None:
    page = tmp_path / "commands.md"
    page.write_text(
        "Run `python -m harness compare --servers all --serverz go-nethttp` (the `all` (13) of them).\n"
        "The claims go from C1..C11 to X99.\n"
        "```sh\nnox -s sweep -- --quick\n```\n"
    )
    found = problems([page])
    assert any("compare has no option --serverz" in p for p in found), found
    assert any("no parser defines --serverz" in p for p in found), found
    assert any("sweep has no option --quick" in p for p in found), found  # a flag of another subcommand
    assert any("claim X99 does not exist" in p for p in found), found
    assert any("'`all` (13)'" in p for p in found), found
    assert len(found) == 5, found
