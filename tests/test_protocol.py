import json

import pytest

from harness.core.errors import ClientError
from harness.core.protocol import check_body, parse_batch_line

GOOD = {"hello": "world", "client": "A", "pid": 1, "thread": "g1", "enter_ns": 1, "exit_ns": 2, "handler": "h"}


def line(requests: list[dict]) -> str:
    return json.dumps({"batch": 0, "clients": len(requests), "wall_s": 0.2, "requests": requests})


def test_good_body() -> None:
    assert check_body("A", 200, GOOD) is None


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (503, GOOD, "HTTP status 503"),
        (200, ["not", "an", "object"], "not a JSON object"),
        (200, {**GOOD, "hello": None}, '"hello"'),
        (200, {**GOOD, "client": "B"}, "echoes client 'B'"),
        (200, {k: v for k, v in GOOD.items() if k != "pid"}, "'pid'"),
        (200, {**GOOD, "enter_ns": True}, "'enter_ns'"),
    ],
)
def test_bad_bodies(status: int, body: object, why: str) -> None:
    assert why in (check_body("A", status, body) or "")


def test_parse_keeps_errors_per_request() -> None:
    parsed = parse_batch_line(
        line(
            [
                {"name": "A", "sent_ns": 1, "recv_ns": 2, "status": 200, "body": GOOD},
                {"name": "B", "sent_ns": 1, "recv_ns": 2, "status": 0, "error": "ConnectError: refused"},
            ]
        ),
        client="c",
        clients=2,
    )
    assert [r.ok for r in parsed.requests] == [True, False]
    assert parsed.requests[0].pid == 1
    assert parsed.requests[1].error == "ConnectError: refused"


@pytest.mark.parametrize("text", ["{not json", '{"batch": 0}', '{"batch": 0, "wall_s": 1, "requests": 3}'])
def test_malformed_lines_raise(text: str) -> None:
    with pytest.raises(ClientError, match="malformed"):
        parse_batch_line(text, client="c", clients=1)


def test_missing_requests_raise() -> None:
    with pytest.raises(ClientError, match=r"1 requests \(1 distinct names\) for 2 clients"):
        parse_batch_line(line([{"name": "A", "status": 200, "body": GOOD}]), client="c", clients=2)


def test_duplicate_names_raise() -> None:
    twice = [{"name": "A", "status": 200, "body": GOOD}] * 2
    with pytest.raises(ClientError, match=r"2 requests \(1 distinct names\) for 2 clients"):
        parse_batch_line(line(twice), client="c", clients=2)


def test_mixed_clocks_raise() -> None:
    answers = [
        {"name": "A", "status": 200, "body": {**GOOD, "clock": "monotonic"}},
        {"name": "B", "status": 200, "body": {**GOOD, "client": "B", "clock": "realtime"}},
    ]
    with pytest.raises(ClientError, match="different clocks"):
        parse_batch_line(line(answers), client="c", clients=2)
