import pandas as pd
import pytest

from harness.catalog import CATALOG, CLIENTS
from harness.claims import CLAIMS, check

CONCURRENT = {
    "go-nethttp": (1, 5),
    "fastapi-async": (1, 1),
    "fastapi-def": (1, 5),
    "django-runserver": (1, 5),
    "gunicorn-threads5": (1, 5),
    "gunicorn-workers5": (5, 5),
}
SERIAL = ("fastapi-async-blocking", "django-nothreading", "gunicorn-default")
HANDLERS = {
    s: {"views.process_request"}
    for s in ("django-runserver", "django-nothreading", "gunicorn-default", "gunicorn-threads5", "gunicorn-workers5")
}


def row(
    server: str, client: str, ratio: float, in_flight: int, processes: int = 1, threads: int = 1, status: str = "ok"
) -> dict:
    concurrent = client != "httpx-sequential"
    return {
        "server": server,
        "client": client,
        "status": status,
        "ratio_median": ratio,
        "max_in_flight": in_flight,
        "processes": processes,
        "threads": threads,
        "client_concurrent": concurrent,
    }


def article_frame(**overrides: tuple) -> pd.DataFrame:
    """Every pairing behaving as the article says; ``overrides`` replace (server, client) rows."""
    rows = {}
    for client in (c.name for c in CLIENTS):
        for server, (procs, threads) in CONCURRENT.items():
            rows[(server, client)] = (
                row(server, client, 1.02, 5, procs, threads)
                if client != "httpx-sequential"
                else row(server, client, 5.05, 1)
            )
        for server in SERIAL:
            rows[(server, client)] = row(server, client, 5.05, 1)
    for key, value in overrides.items():
        server, client = key.split("|")
        rows[(server, client)] = row(server, client, *value)
    return pd.DataFrame(rows.values())


def verdicts(frame: pd.DataFrame, n: int = 5, handlers: dict = HANDLERS) -> dict[str, str]:
    return {c.id: c.verdict for c in check(frame, handlers, n)}


def test_claims_name_catalog_servers() -> None:
    assert [c.id for c in CLAIMS] == [f"C{i}" for i in range(1, 12)]
    for claim in CLAIMS:
        assert all(s in CATALOG.servers_by_name for s in claim.servers)


def test_article_behaviour_confirms_every_claim() -> None:
    assert set(verdicts(article_frame()).values()) == {"confirmed"}


def test_serial_where_concurrent_expected_is_refuted() -> None:
    result = verdicts(article_frame(**{"gunicorn-threads5|httpx-async": (5.0, 1)}))
    assert result["C9"] == "refuted"
    assert result["C11"] == "refuted"
    assert result["C1"] == "confirmed"


def test_in_between_is_inconclusive() -> None:
    assert verdicts(article_frame(**{"go-nethttp|go-goroutines": (2.5, 2)}))["C1"] == "inconclusive"


def test_failed_pairing_is_inconclusive() -> None:
    result = verdicts(article_frame(**{"gunicorn-default|go-goroutines": (float("nan"), 0, 0, 0, "failed")}))
    assert result["C8"] == "inconclusive"
    assert result["C11"] == "inconclusive"


def test_wrong_evidence_refutes() -> None:
    # concurrent, but by one process: the article says -w 5 means five processes
    assert verdicts(article_frame(**{"gunicorn-workers5|go-goroutines": (1.02, 5, 1, 5)}))["C10"] == "refuted"


def test_sequential_client_does_not_count_for_server_claims() -> None:
    assert verdicts(article_frame(**{"go-nethttp|httpx-sequential": (5.0, 1)}))["C1"] == "confirmed"


def test_missing_server_is_inconclusive() -> None:
    frame = article_frame()
    result = check(frame[frame["server"] != "fastapi-def"], HANDLERS, 5)
    c4 = next(c for c in result if c.id == "C4")
    assert (c4.verdict, c4.measured) == ("inconclusive", "not measured: run with --servers fastapi-def")


def test_two_handlers_refute_c11() -> None:
    handlers = {**HANDLERS, "gunicorn-default": {"other.view"}}
    assert verdicts(article_frame(), handlers=handlers)["C11"] == "refuted"


@pytest.mark.parametrize("n", [1, 10])
def test_claims_are_about_five_clients(n: int) -> None:
    assert set(verdicts(article_frame(), n=n).values()) == {"inconclusive"}
