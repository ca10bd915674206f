"""The real thing: every Go and Python server started for real, every client run.

Margins are wide on purpose (the machine is shared and noisy): concurrent means at
most 1.6 x D, serial at least 4.4 x D, and the server-side evidence must agree.
No test asserts an absolute time.
"""

from __future__ import annotations

import csv

import pytest

from tests.conftest import CompareRun, assert_none_left

pytestmark = pytest.mark.integration

# What the article says each server does with five requests at once.
EXPECTED = {
    "go-nethttp": "concurrent",
    "fastapi-async": "concurrent",
    "fastapi-def": "concurrent",
    "fastapi-async-blocking": "serial",
    "django-runserver": "concurrent",
    "django-nothreading": "serial",
    "gunicorn-default": "serial",
    "gunicorn-threads5": "concurrent",
    "gunicorn-workers5": "concurrent",
}
CLIENTS = ["go-goroutines", "httpx-async", "httpx-threads", "httpx-sequential"]
N = 5


def test_run_succeeds_with_every_pairing(compare_run: CompareRun) -> None:
    assert compare_run.proc.returncode == 0, compare_run.proc.stderr[-2000:]
    report = compare_run.report
    assert report["status"] == "complete"
    pairs = {(p["server"], p["client"]) for p in report["pairings"]}
    assert pairs == {(s, c) for s in EXPECTED for c in CLIENTS}
    assert all(p["status"] == "ok" for p in report["pairings"])
    for name in ("report.md", "report.json", "requests.csv"):
        assert (compare_run.out / name).stat().st_size > 0


@pytest.mark.parametrize("server", list(EXPECTED))
@pytest.mark.parametrize("client", CLIENTS)
def test_verdict_and_evidence(compare_run: CompareRun, server: str, client: str) -> None:
    p = compare_run.pairing(server, client)
    behaviour = "serial" if client == "httpx-sequential" else EXPECTED[server]
    if behaviour == "concurrent":
        assert p["ratio_median"] <= 1.6, p
        assert p["max_in_flight"] == N, p
    else:
        assert p["ratio_median"] >= N - 0.6, p
        assert p["max_in_flight"] == 1, p


@pytest.mark.parametrize("client", ["go-goroutines", "httpx-async", "httpx-threads"])
def test_workers5_uses_five_processes(compare_run: CompareRun, client: str) -> None:
    assert compare_run.pairing("gunicorn-workers5", client)["processes"] == N


@pytest.mark.parametrize(
    ("server", "processes", "threads"),
    [
        ("go-nethttp", 1, N),
        ("fastapi-async", 1, 1),
        ("fastapi-def", 1, N),
        ("gunicorn-threads5", 1, N),
    ],
)
def test_workers_behind_concurrency(compare_run: CompareRun, server: str, processes: int, threads: int) -> None:
    p = compare_run.pairing(server, "httpx-async")
    assert (p["processes"], p["threads"]) == (processes, threads)


KEEPS_CONNECTIONS = [
    "go-nethttp", "fastapi-async", "fastapi-def", "fastapi-async-blocking", "django-runserver", "gunicorn-threads5",
]  # fmt: skip
# these answer `Connection: close` (gunicorn's sync workers; runserver without threads)
CLOSES_CONNECTIONS = ["django-nothreading", "gunicorn-default", "gunicorn-workers5"]


@pytest.mark.parametrize("server", KEEPS_CONNECTIONS)
@pytest.mark.parametrize("client", CLIENTS)
def test_every_client_reuses_its_connections(compare_run: CompareRun, server: str, client: str) -> None:
    p = compare_run.pairing(server, client)
    assert (p["connections"], p["new_connections"], p["server_closed"]) == ("reuse", 0, False), p


@pytest.mark.parametrize("server", CLOSES_CONNECTIONS)
@pytest.mark.parametrize("client", CLIENTS)
def test_sync_workers_close_every_connection(compare_run: CompareRun, server: str, client: str) -> None:
    p = compare_run.pairing(server, client)
    assert (p["new_connections"], p["server_closed"]) == (N, True), p


@pytest.mark.parametrize("client", CLIENTS)
def test_waiting_uses_no_core_and_the_client_is_not_the_limit(compare_run: CompareRun, client: str) -> None:
    p = compare_run.pairing("go-nethttp", client)
    assert p["parallelism"] is not None and p["parallelism"] < 0.5, p  # handlers wait: next to no CPU
    assert p["client_busy"] is not None and p["client_limited"] is False, p


def test_every_claim_confirmed(compare_run: CompareRun) -> None:
    verdicts = {c["id"]: (c["verdict"], c["measured"]) for c in compare_run.report["claims"]}
    assert list(verdicts) == [f"C{i}" for i in range(1, 12)]
    assert {k: v for k, v in verdicts.items() if v[0] != "confirmed"} == {}


def test_requests_csv_has_every_request(compare_run: CompareRun) -> None:
    with open(compare_run.out / "requests.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(EXPECTED) * len(CLIENTS) * 2 * N  # warm-up + 1 counted batch
    assert all(r["status"] == "200" and r["error"] == "" for r in rows)
    django = {r["handler"] for r in rows if r["server"].startswith(("django", "gunicorn"))}
    assert django == {"servers.django_project.views.process_request"}


def test_report_md_is_complete(compare_run: CompareRun) -> None:
    md = (compare_run.out / "report.md").read_text()
    for name in [*EXPECTED, *CLIENTS]:
        assert name in md
    assert "Partial report" not in md
    assert "| C11  |" in md


def test_no_process_left(compare_run: CompareRun) -> None:
    assert_none_left(compare_run.run_id)
