"""A server added by a TOML file alone runs in ``compare`` and gets a verdict (G1).

The file is the "Adding a server" example of docs/catalog.md, so the documented example is tested."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from harness.core.catalog import CATALOG
from harness.core.claims import claims_for
from tests.conftest import REPO, assert_none_left, harness

THREADS10 = REPO / "tests" / "fixtures" / "threads10.toml"


def test_the_catalog_docs_show_the_fixture() -> None:
    docs = (REPO / "docs" / "catalog.md").read_text(encoding="utf-8")
    assert THREADS10.read_text(encoding="utf-8") in docs


def test_the_fixture_declares_a_capacity_and_gets_the_generic_claim() -> None:
    spec = CATALOG.with_file(THREADS10).servers_by_name["gunicorn-threads10"]
    assert spec.capacity == 10 and spec.listen == "fd" and claims_for(spec) == ["G1"]


@pytest.mark.integration
def test_a_server_from_a_toml_file_runs_with_a_verdict(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    proc = harness("compare", "--catalog", str(THREADS10), "--servers", "gunicorn-threads10", "--client-impls",
                   "go-goroutines", "--delay", "0.2", "--repeats", "1", "--out", str(out), run_id=run_id,
                   timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    pairing = next(p for p in report["pairings"] if p["server"] == "gunicorn-threads10")
    assert pairing["status"] == "ok" and pairing["max_in_flight"] == 5, pairing
    claims = {c["id"]: c for c in report["claims"]}
    assert claims["G1"]["verdict"] == "confirmed", claims["G1"]
    assert "gunicorn-threads10" in claims["G1"]["expected"]
    assert "gunicorn-threads10" in (out / "report.md").read_text()
    assert_none_left(run_id)


STDLIB_CLIENT = REPO / "tests" / "fixtures" / "stdlib_client.toml"


def test_the_catalog_docs_show_the_client_fixture() -> None:
    docs = (REPO / "docs" / "catalog.md").read_text(encoding="utf-8")
    assert STDLIB_CLIENT.read_text(encoding="utf-8") in docs


@pytest.mark.integration
def test_a_client_from_a_toml_file_tells_concurrent_from_serial(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    proc = harness("compare", "--catalog", str(STDLIB_CLIENT), "--servers", "go-nethttp,gunicorn-default",
                   "--client-impls", "stdlib-threads", "--delay", "0.2", "--repeats", "1", "--out", str(out),
                   run_id=run_id, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    seen = {p["server"]: p for p in report["pairings"]}
    assert seen["go-nethttp"]["behaviour"] == "concurrent" and seen["go-nethttp"]["max_in_flight"] == 5
    assert seen["gunicorn-default"]["behaviour"] == "serial" and seen["gunicorn-default"]["max_in_flight"] == 1
    assert seen["go-nethttp"]["new_connections"] == 0  # reuse: the warm-up's connections were kept
    assert_none_left(run_id)
