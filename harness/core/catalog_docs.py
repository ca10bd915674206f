"""The docs' lists of servers, clients and claims, generated from the catalog and the claims table.

A docs page holds such a list between ``<!-- catalog:NAME -->`` and
``<!-- /catalog:NAME -->``; ``refresh`` rewrites every block from ``CATALOG`` and
``CLAIMS`` (``python -m harness publish --readme-only`` does it for every page), and a
test fails when a page's block differs, so a server added to the catalog, or a claim
to the table, shows in the docs or the suite fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from harness.core.catalog import CATALOG, Catalog
from harness.core.claims import CLAIMS, claims_for

MARKER = re.compile(r"(<!-- catalog:(\w+) -->\n)(.*?)(\n<!-- /catalog:\2 -->)", re.S)


def _table(rows: list[list[str]], headers: list[str]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows])


def servers(catalog: Catalog = CATALOG) -> str:
    default = [s for s in catalog.servers if s.default]
    rows = [[f"`{s.name}`" + (" *" if s.default else ""), s.summary,
             "no limit" if s.capacity is None else str(s.capacity), ", ".join(claims_for(s))]
            for s in catalog.servers]  # fmt: skip
    return (
        f"{len(catalog.servers)} servers; the {len(default)} marked * are the article's and make the default "
        f"matrix, `--servers all` runs all {len(catalog.servers)}.\n\n"
        + _table(rows, ["name", "what runs", "capacity k", "claims"])
    )


def clients(catalog: Catalog = CATALOG) -> str:
    rows = [[f"`{c.name}`", c.summary, "yes" if c.concurrent else "no", ", ".join(c.claims)] for c in catalog.clients]
    return f"{len(catalog.clients)} clients.\n\n" + _table(rows, ["name", "what it does", "N at once", "claims"])


def claims() -> str:
    rows = [[c.id, c.text, "computing (`--work cpu`)" if c.work == "cpu" else "waiting",
             "the article's" if c.article else "beyond it"] for c in CLAIMS]  # fmt: skip
    return f"{len(CLAIMS)} claims.\n\n" + _table(rows, ["id", "claim", "handlers", "whose"])


BLOCKS: dict[str, Callable[[], str]] = {"servers": servers, "clients": clients, "claims": claims}


def refresh(text: str) -> str:
    """``text`` with every catalog block regenerated (an unknown block name is left as it is)."""

    def replace(m: re.Match[str]) -> str:
        block = BLOCKS.get(m.group(2))
        return m.group(0) if block is None else m.group(1) + block() + m.group(4)

    return MARKER.sub(replace, text)
