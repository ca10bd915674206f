"""``sweep --target`` and ``load --target``: a real server started with ``harness serve``,
measured by commands that start none; and their one-line errors (exit status 2)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HOLD_S, assert_none_left, harness, harness_serve

SERVER = "gunicorn-threads5"
"""Declares k = 5: a ladder over 5 and a rate over k / D tell the --as capacity apart from unbounded."""
DELAY_S = 0.1


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The URL of ``harness serve SERVER`` on 127.0.0.1, stopped with Ctrl-C afterwards."""
    with harness_serve(SERVER, DELAY_S, f"target-serve-{uuid.uuid4().hex[:8]}") as url:
        yield url


@pytest.mark.integration
def test_sweep_against_a_target_judges_the_as_capacity(served: str, tmp_path: Path) -> None:
    run_id = f"target-sweep-{uuid.uuid4().hex[:8]}"
    proc = harness("sweep", "--target", served, "--as", SERVER, "--ladder", "1,2,6", "--delay", f"{DELAY_S:g}",
                   "--out", str(tmp_path), run_id=run_id, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_none_left(run_id)  # no server was started: only the clients ran, and they are gone
    assert "already running (a --target)" in proc.stderr and "ready in" not in proc.stderr  # no start to time
    data = json.loads((tmp_path / "sweep.json").read_text())
    target = data["settings"]["target"]
    assert (target["url"], target["name"], target["as"], target["evidence"]) == (served, SERVER, SERVER, True)
    points = {p["clients"]: p for p in data["points"]}
    assert sorted(points) == [1, 2, 5, 6]  # the ladder gets --as's k and k+1
    assert points[5]["max_in_flight"] == 5 and points[5]["ratio"] < 1.5  # measured from the target's evidence
    assert points[6]["max_in_flight"] == 5 and points[6]["ratio"] > 1.5  # two waves of k = 5
    assert all(p["peak_rss_bytes"] is None for p in data["points"])  # no process of the target to sample
    (capacity,) = data["capacity"]
    assert (capacity["declared"], capacity["measured"], capacity["verdict"]) == (5, 5, "consistent")
    md = (tmp_path / "sweep.md").read_text()
    assert f"> Target {SERVER} at {served}: not started by the harness; evidence fields" in md
    assert "Resources not sampled" in md
    assert not list((tmp_path / "pictures").glob("sweep-resources-*"))


@pytest.mark.integration
def test_sweep_against_a_target_without_as_checks_no_capacity(served: str, tmp_path: Path) -> None:
    proc = harness("sweep", "--target", served, "--ladder", "1", "--delay", f"{DELAY_S:g}", "--out", str(tmp_path),
                   timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "sweep.json").read_text())
    host_port = served.removeprefix("http://").rstrip("/")
    (capacity,) = data["capacity"]
    assert (capacity["server"], capacity["verdict"]) == (host_port, "not checked")
    assert "no --as" in capacity["reason"]
    assert data["points"][0]["max_in_flight"] == 1 and data["points"][0]["predicted_ratio"] is None
    charts = {p.stem for p in (tmp_path / "pictures").glob("sweep-ratio-*.png")}
    assert charts == {"sweep-ratio-undeclared"}  # drawn apart, with no model line: not as unbounded


@pytest.mark.integration
def test_load_against_a_target_uses_the_as_capacity(served: str, tmp_path: Path) -> None:
    run_id = f"target-load-{uuid.uuid4().hex[:8]}"
    proc = harness("load", "--target", served, "--as", SERVER, "--rates", "20,80", "--duration", "1",
                   "--warmup", "0.2", "--delay", f"{DELAY_S:g}", "--out", str(tmp_path), run_id=run_id,
                   timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_none_left(run_id)
    data = json.loads((tmp_path / "load.json").read_text())
    assert data["settings"]["target"]["url"] == served and data["settings"]["ladders"] == {SERVER: [20.0, 80.0]}
    steps = {s["offered_rps"]: s for s in data["steps"]}
    assert steps[20.0]["achieved_rps"] > 15 and steps[20.0]["failed"] == 0 and steps[20.0]["max_in_flight"] >= 1
    assert steps[80.0]["achieved_rps"] <= 1.3 * 50 and steps[80.0]["max_in_flight"] <= 5  # k / D = 50/s
    (capacity,) = data["capacity"]
    assert (capacity["server"], capacity["declared"], capacity["predicted_rps"]) == (SERVER, 5, pytest.approx(50))
    assert capacity["verdict"] != "not checked"
    md = (tmp_path / "load.md").read_text()
    assert f"> Target {SERVER} at {served}: not started by the harness; evidence fields" in md
    assert (tmp_path / "load-requests.csv").stat().st_size > 0 and (tmp_path / "load-steps.jsonl").exists()


@pytest.mark.integration
def test_load_against_a_target_without_evidence_or_echo(plain_url: str, tmp_path: Path) -> None:
    proc = harness("load", "--target", plain_url, "--rates", "20", "--duration", "1", "--warmup", "0.2",
                   "--delay", f"{HOLD_S:g}", "--out", str(tmp_path), timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "load.json").read_text())
    assert data["settings"]["target"]["evidence"] is False
    (step,) = data["steps"]
    assert step["failed"] == 0 and step["achieved_rps"] > 15 and step["max_in_flight"] is None
    assert data["capacity"][0]["verdict"] == "not checked"
    assert "no evidence (claims not checked)" in (tmp_path / "load.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "198.18.0.1:8000"], "--target must be an http:// URL with a host"),
        (["--target", "http://127.0.0.1:9/", "--servers", "go-nethttp"], "--servers is for servers the harness"),
        (["--target", "http://127.0.0.1:9/", "--as", "nginx"], "unknown server 'nginx' in --as; valid: go-nethttp"),
        (["--as", "go-nethttp"], "--as describe(s) a --target"),
        (["--delay", "auto"], "--delay auto describe(s) a --target"),
        (["--capacity", "4", "--method", "POST"], "--method, --capacity describe(s) a --target"),
        (
            ["--target", "http://127.0.0.1:9/", "--as", "go-nethttp", "--method", "POST"],
            "--as sends the article's request with that server's capacity; --method describe(s) your own endpoint",
        ),
        (["--target", "http://127.0.0.1:9/", "--capacity", "0"], "--capacity must be a whole number"),
        (["--target", "http://127.0.0.1:9/", "--server-pid", "999999999"], "--server-pid 999999999 is not a running"),
        (["--target", "http://127.0.0.1:9/", "--header", "nocolon"], "--header takes 'Name: value'"),
    ],
)
@pytest.mark.parametrize("command", ["sweep", "load"])
def test_target_errors_are_one_line_and_status_2(command: str, args: list[str], message: str) -> None:
    proc = harness(command, *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("sweep", ["--work", "cpu"], "--work cpu needs servers the harness starts"),
        ("sweep", ["--delay", "0.2"], "is unreachable"),  # the probe, before any Go build or batch
        ("load", ["--delay", "0.2"], "is unreachable"),
    ],
)
def test_target_work_and_probe_errors_are_one_line(command: str, args: list[str], message: str) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        proc = harness(command, "--target", f"http://127.0.0.1:{s.getsockname()[1]}/", *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
