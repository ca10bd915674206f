"""``python -m harness list``: the catalog of servers and clients."""

from __future__ import annotations

import argparse
from typing import Any

from harness.cli.options import load_catalog
from harness.core.claims import claims_for


def cmd_list(args: argparse.Namespace) -> int:
    catalog = load_catalog(args)
    print("servers (* = in a run that does not name its servers):")
    for s in catalog.servers:
        capacity = "no limit" if s.capacity is None else s.capacity
        mark = "*" if s.default else " "
        claim_ids = ",".join(claims_for(s))
        print(f"{mark} {s.name:<24} {claim_ids:<8} capacity {capacity!s:<9} {s.summary}")
    print("clients:")
    for c in catalog.clients:
        print(f"  {c.name:<24} {c.summary}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``list`` on the CLI's subcommands."""
    listing = sub.add_parser("list", help="print the catalog of servers and clients")
    listing.add_argument("--catalog", help="TOML file with more entries")
    listing.set_defaults(run=cmd_list)
