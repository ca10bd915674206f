"""``compare --target``: the URL, the probe and the checks of a target's answers, against
a tiny server on 127.0.0.1 that answers the article's JSON without any evidence."""

from __future__ import annotations

import pytest

from harness.core.errors import UsageError
from harness.core.protocol import check_body, request_record
from harness.core.target import probe, target_url
from tests.conftest import HOLD_S, Plain


def test_target_urls() -> None:
    assert target_url("http://198.18.0.1:8000") == ("http://198.18.0.1:8000/", "198.18.0.1:8000")
    assert target_url("http://[::1]/app") == ("http://[::1]:80/app/", "[::1]:80")
    for bad in ("198.18.0.1:8000", "https://x/", "http://x/?client=A", "http://:80/"):
        with pytest.raises(UsageError, match="--target"):
            target_url(bad)


def test_a_target_without_evidence_is_probed_and_accepted(plain_url: str) -> None:
    found = probe(plain_url, HOLD_S)
    assert found.evidence_source == "none" and found.held_s is None and found.round_trip_s >= HOLD_S


def test_a_target_that_answers_too_fast_for_the_delay_is_one_line(plain_url: str) -> None:
    with pytest.raises(UsageError, match="less than --delay 2 s") as info:
        probe(plain_url, 2.0)
    assert "\n" not in str(info.value)


def test_an_unreachable_target_is_one_line() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
        with pytest.raises(UsageError, match="is unreachable") as info:
            probe(url, HOLD_S)
    assert "\n" not in str(info.value)


def test_a_target_that_is_not_the_article_is_one_line(plain_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Plain, "body", {"greeting": "hi"})
    with pytest.raises(UsageError, match='does not answer the article\'s JSON: body has no "hello" string'):
        probe(plain_url, HOLD_S)


def test_a_target_answer_needs_the_article_not_the_evidence() -> None:
    assert check_body("A", 200, {"hello": "world"}, evidence_required=False) is None
    assert check_body("A", 200, {"hello": "world", "client": "B"}, evidence_required=False)
    assert check_body("A", 200, {"hello": "world"}) == "body echoes client None, expected 'A'"
    record = request_record({"name": "A", "status": 200, "body": {"hello": "w"}, "sent_ns": 1, "recv_ns": 2},
                            evidence_required=False)  # fmt: skip
    assert record.ok and record.pid is None
