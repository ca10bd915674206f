"""``compare --target``: the URL, the probe and the checks of a target's answers, against
a tiny server on 127.0.0.1 that answers the article's JSON without any evidence."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from harness.core.errors import UsageError
from harness.core.protocol import check_body, request_record
from harness.core.request import RequestSpec, parse_expect, request_spec
from harness.core.target import AUTO_SAMPLES, probe, target_url
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


def test_a_target_without_evidence_that_holds_longer_than_d_is_refused(plain_url: str) -> None:
    """The probe's upper bound: the plain target holds 0.1 s; at --delay 0.05 every ratio would be
    off by 2x, so the run is refused in one line, unless forced (the old probe let it through)."""
    with pytest.raises(UsageError, match=r"more than 1.5 x --delay 0.05 s, and gives no evidence") as info:
        probe(plain_url, HOLD_S / 2)
    assert "\n" not in str(info.value) and "--force" in str(info.value)
    forced = probe(plain_url, HOLD_S / 2, force=True)
    assert forced.evidence_source == "none" and forced.round_trip_s > 1.5 * HOLD_S / 2


def test_delay_auto_is_the_median_of_solo_requests(plain_url: str) -> None:
    found = probe(plain_url, None, request=RequestSpec())
    assert len(found.samples_s) == AUTO_SAMPLES and all(s >= HOLD_S for s in found.samples_s)
    assert statistics.median(found.samples_s) < 3 * HOLD_S


def test_a_users_endpoint_is_judged_by_its_status(plain_url: str) -> None:
    with pytest.raises(UsageError, match=r"does not answer with a status in --expect-status 201: HTTP status 200"):
        probe(plain_url + "anything?x=1", HOLD_S, request=RequestSpec(expect=parse_expect("201"), expect_text="201"))
    assert probe(plain_url + "anything?x=1", HOLD_S, request=RequestSpec()).evidence_source == "none"
    assert target_url("http://127.0.0.1:9/api/items/7?q=x", article=False)[0] == "http://127.0.0.1:9/api/items/7?q=x"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "FETCH"}, "--method must be one of GET"),
        ({"headers": ["no colon"]}, "--header takes 'Name: value'"),
        ({"body": "x", "body_file": "/etc/hostname"}, "give the body once"),
        ({"body_file": "/nonexistent/body"}, "is not a readable file"),
        ({"expect": "2xx,abc"}, "--expect-status takes statuses and classes"),
    ],
)
def test_a_bad_request_description_is_one_line(kwargs: dict[str, Any], message: str, tmp_path: Path) -> None:
    args: dict[str, Any] = {"method": None, "headers": None, "body": None, "body_file": None, "expect": None}
    with pytest.raises(UsageError, match=message) as info:
        request_spec(**(args | kwargs), scratch=tmp_path)
    assert "\n" not in str(info.value)


def test_a_request_description_reaches_the_clients_and_hides_header_values(tmp_path: Path) -> None:
    spec = request_spec(method="post", headers=["Authorization: Bearer t0ken"], body='{"a": 1}', body_file=None,
                        expect="200,3xx", scratch=tmp_path)  # fmt: skip
    assert spec.expect == ((200, 200), (300, 399)) and spec.accepts(302) and not spec.accepts(201)
    sent = json.loads(spec.env()["HARNESS_REQUEST"])
    assert sent["method"] == "POST" and Path(sent["body_file"]).read_bytes() == b'{"a": 1}'
    assert spec.http_headers() == {"Authorization": "Bearer t0ken", "Concurrency-Evidence": "1"}
    assert "t0ken" not in json.dumps(spec.settings())


def test_a_target_table_declares_a_users_server(tmp_path: Path) -> None:
    """``[[target]]`` in a --catalog file: ``--as NAME`` gives the user's endpoint its name and capacity."""
    from harness.cli.main import parser
    from harness.cli.options import load_catalog, make_target, target_catalog

    toml = tmp_path / "mine.toml"
    toml.write_text('[[target]]\nname = "orders-api"\ncapacity = 4\ncapacity_reason = "gunicorn -w 1 --threads 4"\n')
    args = parser().parse_args(["compare", "--target", "http://127.0.0.1:9/orders/7?x=1", "--as", "orders-api",
                                "--catalog", str(toml), "--out", str(tmp_path / "out")])  # fmt: skip
    catalog = load_catalog(args)
    target = make_target(args, catalog)
    assert target is not None and target.request is not None  # the user's endpoint, not the article's request
    assert (target.name, target.capacity, target.url) == ("orders-api", 4, "http://127.0.0.1:9/orders/7?x=1")
    assert target.settings()["as"] is None and target.settings()["capacity"] == 4
    entry = target_catalog(catalog, target).servers_by_name["orders-api"]
    assert (entry.capacity, entry.capacity_reason) == (4, "gunicorn -w 1 --threads 4")
    args.capacity = 5
    with pytest.raises(UsageError, match="declares a capacity of 4 in its"):
        make_target(args, catalog)


@pytest.mark.parametrize("command", ["compare", "sweep", "load"])
def test_the_probe_bound_is_one_line_and_status_2(command: str, plain_url: str, tmp_path: Path) -> None:
    from tests.conftest import harness

    proc = harness(command, "--target", plain_url, "--delay", f"{HOLD_S / 2:g}", "--out", str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "more than 1.5 x --delay 0.05 s, and gives no evidence" in line and "--force" in line
