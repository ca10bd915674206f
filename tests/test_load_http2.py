"""``harness load --http 2``: which servers run, the load client's flag, the protocol each answer came over."""

from __future__ import annotations

import pytest

from harness.cli.load import make_plan, serving_http, settings_of
from harness.cli.main import parser
from harness.cli.options import load_catalog
from harness.core.errors import UsageError
from harness.load.export import answered_over, protocol_text
from harness.load.runner import LoadPlan, loadclient_argv
from harness.load.steps import Step, parse_line, step_row


def _args(*argv: str):  # type: ignore[no-untyped-def]
    return parser().parse_args(["load", *argv])


def _servers(names: str):  # type: ignore[no-untyped-def]
    args = _args("--servers", names)
    by_name = load_catalog(args).servers_by_name
    return [by_name[n] for n in names.split(",")]


def test_http_defaults_to_1_1_and_takes_2() -> None:
    assert _args().http == "1.1"
    assert _args("--http", "2").http == "2"
    with pytest.raises(UsageError, match="--http"):
        _args("--http", "3")


def test_http_2_keeps_only_servers_that_serve_h2c(capsys: pytest.CaptureFixture[str]) -> None:
    servers = _servers("go-nethttp,granian-asgi,granian-asgi-h2")
    assert serving_http("2", servers) == ["go-nethttp", "granian-asgi-h2"]
    assert "granian-asgi left out" in capsys.readouterr().err
    assert serving_http("1.1", servers) == ["go-nethttp", "granian-asgi"]  # an h2c-only twin speaks no HTTP/1.1
    with pytest.raises(UsageError, match="no server left"):
        serving_http("2", _servers("granian-asgi"))


def test_the_load_client_gets_http2_only_under_http_2() -> None:
    servers = tuple(_servers("go-nethttp"))
    h2 = make_plan(_args("--http", "2", "--no-pin"), servers, 0.05)
    h1 = make_plan(_args("--no-pin"), servers, 0.05)
    assert h2.http == "2" and h1.http == "1.1"
    assert "-http2" in loadclient_argv("lc", "http://127.0.0.1:1/", 100, h2)
    assert "-http2" not in loadclient_argv("lc", "http://127.0.0.1:1/", 100, h1)
    assert settings_of(h2, "cmd")["http"] == "2" and settings_of(h1, "cmd")["http"] == "1.1"


def _raw(i: int, proto: str) -> dict[str, object]:
    return {"name": f"r{i:06d}", "warmup": False, "intended_ns": 10**9 + i, "sent_ns": 10**9 + i,
            "recv_ns": 2 * 10**9, "status": 200, "error": "", "proto": proto}  # fmt: skip


def test_answers_are_counted_by_protocol_and_a_fallback_is_named() -> None:
    requests = [parse_line(_raw(i, "HTTP/2.0")) for i in range(3)] + [parse_line(_raw(3, "HTTP/1.1"))]
    requests.append(parse_line({**_raw(4, ""), "recv_ns": None, "error": "no answer within timeout"}))
    summary = {"counted_start_ns": 10**9, "counted_end_ns": 3 * 10**9, "timeout_ns": 10**10, "end_ns": 4 * 10**9}
    row = step_row(Step("s", 10.0, requests, summary), delay_s=0.05)
    assert row["protocols"] == {"HTTP/2.0": 3, "HTTP/1.1": 1}
    import pandas as pd

    part = pd.DataFrame([row])
    assert answered_over(part, {"http": "2"}) == [
        "Counted answers by protocol: HTTP/1.1 1, HTTP/2.0 3 (**not all HTTP/2**).", ""]  # fmt: skip
    only_h1 = pd.DataFrame([{**row, "protocols": {"HTTP/1.1": 4}}])
    assert answered_over(only_h1, {"http": "1.1"}) == []  # the article's protocol: nothing to say
    assert "h2c" in protocol_text({"http": "2"}) and protocol_text({}) == "HTTP/1.1"


def test_a_plan_without_http_is_http_1_1() -> None:
    plan = LoadPlan(servers=(), delay_s=0.05, duration_s=1, warmup_s=1, rates=(10.0,))
    assert plan.http == "1.1" and "-http2" not in loadclient_argv("lc", "http://127.0.0.1:1/", 10, plan)
