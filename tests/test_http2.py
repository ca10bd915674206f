"""``--http 2``: who speaks h2c, what the server answered with, and how it is reported."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.cli.options import speaking
from harness.compare import report as compare_report
from harness.compare.markdown import MarkdownExporter, protocol_cell
from harness.compare.stats import batch_frame, pairing_frame, protocol
from harness.core.catalog import CATALOG, ClientSpec
from harness.core.errors import UsageError
from harness.core.protocol import protocol_name, request_record
from harness.core.records import Pairing
from tests.helpers import batch, concurrent_requests, fixed_results

SERVERS = CATALOG.servers_by_name
CLIENTS = CATALOG.clients_by_name


@pytest.mark.parametrize(
    ("raw", "name"), [("HTTP/2.0", "HTTP/2"), ("HTTP/2", "HTTP/2"), ("HTTP/1.1", "HTTP/1.1"), (None, None), ("", None)]
)
def test_go_and_httpx_spellings_of_the_answer_protocol_are_one(raw: str | None, name: str | None) -> None:
    assert protocol_name(raw) == name


def test_a_request_keeps_the_protocol_the_client_read() -> None:
    raw = {"name": "A", "status": 200, "http_version": "HTTP/2.0", "error": "x"}
    assert request_record(raw).http_version == "HTTP/2"
    assert request_record({"name": "A", "status": 0, "error": "x"}).http_version is None


def h2(requests: tuple, version: str | None) -> tuple:
    return tuple(dataclasses.replace(r, http_version=version) for r in requests)


def test_a_batch_answered_partly_over_http1_says_both() -> None:
    reqs = concurrent_requests()
    mixed = h2(reqs[:2], "HTTP/2") + h2(reqs[2:], "HTTP/1.1")
    assert protocol(h2(reqs, "HTTP/2")) == "HTTP/2"
    assert protocol(mixed) == "HTTP/1.1+HTTP/2"
    assert protocol(reqs) is None  # the client did not say


def test_each_pairing_in_the_report_names_the_protocol_answered() -> None:
    pairings = [Pairing("go-nethttp", "go-goroutines", "ok"), Pairing("s", "httpx-async", "ok")]
    for repeat in range(3):
        pairings[0].batches.append(
            batch("go-nethttp", "go-goroutines", repeat, 1.0, h2(concurrent_requests(), "HTTP/2"))
        )
        pairings[1].batches.append(batch("s", "httpx-async", repeat, 1.0, h2(concurrent_requests(), "HTTP/1.1")))
    batches = batch_frame(pairings)
    rows = pairing_frame(pairings, batches, delay_s=0.2, clients=5, work="wait").set_index("client")
    assert rows.loc["go-goroutines", "protocol"] == "HTTP/2"
    assert rows.loc["httpx-async", "protocol"] == "HTTP/1.1"
    assert protocol_cell("HTTP/1.1") == "HTTP/1.1 (fell back from HTTP/2)" and protocol_cell("HTTP/2") == "HTTP/2"


def test_http2_leaves_out_the_clients_and_servers_that_cannot_speak_it() -> None:
    mute = ClientSpec(
        name="mute", summary="", command=("x",), concurrent=True, no_http2="requests speaks HTTP/1.1 only"
    )
    servers, clients = speaking(
        "2", [SERVERS["go-nethttp"], SERVERS["gunicorn-threads5"]], [CLIENTS["httpx-async"], mute]
    )
    assert servers == ["go-nethttp"] and clients == ["httpx-async"]
    assert mute.http2_reason() == "requests speaks HTTP/1.1 only"
    assert speaking("1.1", [SERVERS["gunicorn-threads5"]], [mute]) == (["gunicorn-threads5"], ["mute"])


def test_http2_with_no_server_that_speaks_it_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no server left"):
        speaking("2", [SERVERS["gunicorn-threads5"]], [CLIENTS["httpx-async"]])


def test_every_built_in_client_either_speaks_h2c_or_says_why_not() -> None:
    for client in CATALOG.clients:
        assert bool(client.http2_flags) != bool(client.no_http2), client.name


def test_the_report_says_the_run_was_over_http2_and_what_each_server_answered(tmp_path: Path) -> None:
    results = fixed_results(tmp_path)
    results.close()
    results.settings["http"] = "2"
    md = MarkdownExporter().render(compare_report.build(results))
    assert "N streams of one connection" in md
    assert "| protocol" in md
    results.settings["http"] = "1.1"
    md = MarkdownExporter().render(compare_report.build(results))
    assert "N streams of one connection" not in md and "| protocol" not in md
