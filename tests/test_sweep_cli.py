"""``harness sweep`` with bad input (one clear line, exit status 2) and with a broken client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import harness


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ladder", "1,x"], "--ladder must be comma-separated whole numbers, e.g. 1,2,5,10; got '1,x'"),
        (["--ladder", "0,5"], "--ladder values must be between 1 and 1000, got '0,5'"),
        (["--ladder", "5,2000"], "--ladder values must be between 1 and 1000"),
        (["--max-clients", "0"], "--max-clients must be between 1 and 1000, got 0"),
        (["--ladder", "50,100", "--max-clients", "10"], "--max-clients 10 leaves nothing of the ladder 50,100"),
        (["--client-impls", "curl"], "unknown client 'curl' in --client-impls; valid: go-goroutines,"),
        (["--client-impls", "httpx-sequential"], "--client-impls httpx-sequential does not send its requests at once"),
        (["--servers", "nginx"], "unknown server 'nginx' in --servers"),
        (["--delay", "0"], "--delay must be a number of seconds from"),
        (["--delay", "2", "--budget", "1"], "--budget must be a number of seconds more than D (2 s) and at most 600"),
        (["--delay", "2", "--budget", "2"], "--budget must be a number of seconds more than D (2 s)"),
        (["--budget", "1e6"], "--budget must be a number of seconds more than D (1 s) and at most 600, got 1e+06"),
        (["--budget", "inf"], "--budget must be a number of seconds more than D (1 s) and at most 600, got inf"),
        (["--budget", "nan"], "--budget must be a number of seconds more than D (1 s) and at most 600, got nan"),
        (["--budget", "lots"], "argument --budget: invalid float value: 'lots'"),
        (["--out", "/proc/no-such-dir"], "cannot write to --out '/proc/no-such-dir'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(args: list[str], message: str) -> None:
    proc = harness("sweep", *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]


@pytest.mark.parametrize("budget", ["1e6", "lots", "0.5", "600.5"])
def test_a_bad_budget_starts_nothing(tmp_path: Path, budget: str) -> None:
    """Refused before the Go build, the out folder or any server: one line, status 2."""
    out = tmp_path / "out"
    proc = harness("sweep", "--servers", "go-nethttp", "--budget", budget, "--out", str(out), timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "--budget" in proc.stderr
    assert proc.stdout == ""
    assert not out.exists()


def test_budget_bounds_are_in_the_help() -> None:
    proc = harness("sweep", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "at most 600" in " ".join(proc.stdout.split())


@pytest.mark.integration  # starts a real server
def test_a_client_that_cannot_start_fails_its_points_not_the_sweep(tmp_path: Path) -> None:
    catalog = tmp_path / "broken.toml"
    catalog.write_text('[[client]]\nname = "broken"\ncommand = ["/nonexistent/client"]\nconcurrent = true\n')
    out = tmp_path / "out"
    args = ["--servers", "fastapi-async", "--client-impls", "broken", "--ladder", "1,2", "--catalog", str(catalog)]
    proc = harness("sweep", *args, "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    data = json.loads((out / "sweep.json").read_text())
    assert [(p["clients"], p["status"]) for p in data["points"]] == [(1, "failed"), (2, "failed")]
    assert data["capacity"][0]["verdict"] == "inconclusive"
    assert "Traceback" not in proc.stderr
