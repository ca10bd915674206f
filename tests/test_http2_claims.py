"""The HTTP/2 claims (H1..H6): judged only on a ``--http 2`` run, each with a
confirming and a refuting case."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.cli.main import parser
from harness.cli.options import names, speaking
from harness.compare.claims import Context, check
from harness.compare.publish import PARTS
from harness.core.catalog import CATALOG, GUNICORN_H2C
from harness.core.claims import CLAIMS_BY_ID, claims_for

H2 = Context(5, 2, "wait", CATALOG, http="2")
H1_1 = Context(5, 2, "wait", CATALOG)
CLIENTS = ("go-goroutines", "httpx-async")
SERVER = {
    "H1": "gunicorn-threads5-h2",
    "H2": "granian-wsgi-h2",
    "H3": "granian-asgi-h2",
    "H4": "hypercorn-asgi",
    "H5": "gunicorn-gevent-h2",
    "H6": "gunicorn-asgi-h2",
}
SERIAL = (5.05, 1, 1, 1)
AT_ONCE_THREADS = (1.02, 5, 1, 5)
AT_ONCE_ONE_THREAD = (1.02, 5, 1, 1)


def frame(server: str, ratio: float, in_flight: int, processes: int, threads: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "server": server,
                "client": c,
                "status": "ok",
                "ratio_median": ratio,
                "max_in_flight": in_flight,
                "processes": processes,
                "threads": threads,
                "parallelism": float("nan"),
                "dispatch_s": 0.002,
                "client_concurrent": True,
            }
            for c in CLIENTS
        ]
    )


def verdict(claim: str, measured: tuple[float, int, int, int], ctx: Context = H2) -> str | None:
    found = {c.id: c.verdict for c in check(frame(SERVER[claim], *measured), {}, ctx)}
    return found.get(claim)


@pytest.mark.parametrize(
    ("claim", "confirming", "refuting"),
    [
        ("H1", SERIAL, AT_ONCE_THREADS),
        ("H2", AT_ONCE_THREADS, SERIAL),
        ("H3", AT_ONCE_ONE_THREAD, SERIAL),
        ("H4", AT_ONCE_ONE_THREAD, AT_ONCE_THREADS),
        ("H5", SERIAL, AT_ONCE_ONE_THREAD),
        ("H6", AT_ONCE_ONE_THREAD, SERIAL),
    ],
)
def test_each_http2_claim_is_confirmed_and_refuted_by_what_it_says(
    claim: str, confirming: tuple[float, int, int, int], refuting: tuple[float, int, int, int]
) -> None:
    assert verdict(claim, confirming) == "confirmed"
    assert verdict(claim, refuting) == "refuted"


def test_an_http2_claim_is_not_judged_on_an_http1_run() -> None:
    assert verdict("H1", SERIAL, H1_1) is None
    assert all(c.http == "2" for c in (CLAIMS_BY_ID[i] for i in SERVER))


def test_an_h2c_entry_keeps_the_generic_claim_over_http1() -> None:
    assert "G1" in claims_for(CATALOG.servers_by_name["hypercorn-asgi"])
    assert not CATALOG.servers_by_name["gunicorn-threads5-h2"].serves("1.1")  # prior knowledge: h2 only


def test_gunicorn_gevent_and_asgi_h2c_twins_are_their_http1_twins_with_prior_knowledge() -> None:
    by_name = CATALOG.servers_by_name
    for twin in ("gunicorn-gevent", "gunicorn-asgi"):
        h1, h2 = by_name[twin], by_name[f"{twin}-h2"]
        assert h2.command == (*h1.command[:-1], *GUNICORN_H2C, h1.command[-1])
        assert h2.serves("2") and not h2.serves("1.1") and not h1.serves("2")


def test_the_http2_publish_parts_run_every_client_that_speaks_h2c(capsys: pytest.CaptureFixture[str]) -> None:
    h2c_clients = [c.name for c in CATALOG.clients if c.http2_reason() is None]
    assert "httpx2-async" in h2c_clients
    parts = [p for p in PARTS if "--http" in p.argv]
    assert {p.name for p in parts} == {"http2", "http2-cpu"}
    for part in parts:
        args = parser().parse_args(list(part.argv))
        clients = names(args.client_impls, CATALOG.clients_by_name, [], "client", "--client-impls")
        servers = names(args.servers, CATALOG.servers_by_name, [], "server", "--servers")
        kept_servers, kept_clients = speaking(
            args.http, [CATALOG.servers_by_name[s] for s in servers], [CATALOG.clients_by_name[c] for c in clients]
        )
        assert kept_clients == h2c_clients, part.name
        assert {"gunicorn-threads5-h2", "gunicorn-gevent-h2", "gunicorn-asgi-h2"} <= set(kept_servers), part.name
    said = capsys.readouterr()
    assert "requests-threads left out" in said.out + said.err
