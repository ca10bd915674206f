"""harness.load.steps, exactly: each figure of a step's row pinned on a small hand-made step.

Written for ``nox -s mutants`` (docs/mutants.md): the load tests start servers, so without
these no fast test read a step's records, and a changed bound or field went unnoticed."""

from __future__ import annotations

import json

import pytest

from harness.core.errors import ClientError
from harness.core.records import RequestRecord
from harness.load.steps import (
    TIMEOUT_ERROR,
    LoadRequest,
    Step,
    failure_kind,
    min_samples,
    parse_line,
    parse_output,
    percentile,
    step_row,
)

MS = 1_000_000


def req(name: str = "r", *, intended: int = 0, sent: int | None = 0, recv: int | None = 10 * MS, status: int = 200,
        error: str = "", warmup: bool = False, late: bool = False, **body: object) -> LoadRequest:  # fmt: skip
    return LoadRequest(name=name, warmup=warmup, intended_ns=intended, sent_ns=sent, recv_ns=recv, status=status,
                       error=error, late=late, server_closed=False, **body)  # type: ignore[arg-type]  # fmt: skip


def test_parse_line_reads_every_field_of_the_body() -> None:
    raw = {
        "name": 7, "warmup": 1, "intended_ns": "5", "sent_ns": 6, "recv_ns": 9, "status": 200, "late": 1,
        "server_closed": 1,
        "body": {"pid": 11, "thread": "t1", "enter_ns": 7, "exit_ns": 8, "cpu_enter_ns": 1, "cpu_exit_ns": 2},
    }  # fmt: skip
    assert parse_line(raw) == LoadRequest(
        name="7", warmup=True, intended_ns=5, sent_ns=6, recv_ns=9, status=200, error="", late=True,
        server_closed=True, pid=11, thread="t1", enter_ns=7, exit_ns=8, cpu_enter_ns=1, cpu_exit_ns=2,
    )  # fmt: skip


def test_parse_line_defaults_and_rejects_non_integers() -> None:
    raw = {"name": "a", "warmup": False, "intended_ns": 5, "sent_ns": True, "recv_ns": 1.5, "status": None,
           "error": None, "body": {"pid": "3", "thread": 4, "enter_ns": False}}  # fmt: skip
    r = parse_line(raw)
    assert (r.sent_ns, r.recv_ns, r.status, r.error, r.late, r.server_closed) == (None, None, 0, "", False, False)
    assert (r.pid, r.thread, r.enter_ns, r.exit_ns, r.cpu_enter_ns, r.cpu_exit_ns) == (None,) * 6
    assert parse_line({**raw, "body": "not a dict"}).pid is None


def test_parse_line_prefers_the_evidence_header() -> None:
    header = "v=1;pid=42;thread=main;enter_ns=100;exit_ns=200;cpu_enter_ns=3;cpu_exit_ns=4;clock=mono;layer=asgi"
    raw = {"name": "a", "warmup": False, "intended_ns": 5, "body": {"pid": 1}, "evidence_header": header}
    r = parse_line(raw)
    assert (r.pid, r.thread, r.enter_ns, r.exit_ns, r.cpu_enter_ns, r.cpu_exit_ns, r.error) == (
        42, "main", 100, 200, 3, 4, ""
    )  # fmt: skip
    bad = parse_line({**raw, "evidence_header": "v=1"})
    assert bad.error.startswith("Concurrency-Evidence header: no pid, thread")
    assert bad.pid is None
    # the request's own error wins over the header's problem
    assert parse_line({**raw, "evidence_header": "v=1", "error": "timeout"}).error == "timeout"


def test_parse_output_splits_requests_from_the_summary() -> None:
    line = json.dumps({"name": "a", "warmup": False, "intended_ns": 1})
    text = "\n".join([line, "  ", json.dumps({"summary": {"n": 1}}), line])
    requests, summary = parse_output(text, client="go")
    assert [r.name for r in requests] == ["a", "a"]
    assert summary == {"n": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"name": "a"}', "go printed a malformed line ("),  # KeyError
        ("not json", "go printed a malformed line ("),  # ValueError
        ('{"name": "a", "warmup": false, "intended_ns": null}', "go printed a malformed line ("),  # TypeError
        (json.dumps({"name": "a", "warmup": False, "intended_ns": 1}), "go ended without its summary line"),
    ],
)
def test_parse_output_refuses_what_it_cannot_read(text: str, message: str) -> None:
    with pytest.raises(ClientError) as exc:
        parse_output(text, client="go")
    assert str(exc.value).startswith(message)


def test_parse_output_quotes_the_first_200_characters() -> None:
    with pytest.raises(ClientError) as exc:
        parse_output("x" * 300, client="go")
    assert str(exc.value).endswith(repr("x" * 200))


def test_failure_kind() -> None:
    assert failure_kind("HTTP status 503: 12.5") == "HTTP status 503: 12.5"
    assert failure_kind("dial 127.0.0.1:8000 refused") == "dial N refused"
    assert failure_kind("e" * 100) == "e" * 80


def test_as_record_and_latency() -> None:
    r = req(intended=5 * MS, sent=None, recv=None, error="boom", pid=3, thread="t", enter_ns=1, exit_ns=2,
            cpu_enter_ns=3, cpu_exit_ns=4)  # fmt: skip
    assert r.as_record() == RequestRecord(name="r", error="boom", status=200, sent_ns=5 * MS, recv_ns=0, pid=3,
                                          thread="t", enter_ns=1, exit_ns=2, cpu_enter_ns=3, cpu_exit_ns=4)  # fmt: skip
    assert req(sent=7).as_record().sent_ns == 7
    assert req(error="").as_record().error is None
    assert r.latency_s is None and not r.ok
    assert req(intended=MS, recv=3 * MS).latency_s == pytest.approx(0.002)
    assert req(recv=None).latency_s is None


def step_of(requests: list[LoadRequest], **summary: object) -> Step:
    base: dict[str, object] = {"counted_start_ns": 0, "counted_end_ns": 1_000 * MS, "counted_cpu_ns": 500 * MS}
    return Step(server="s", offered_rps=4.0, requests=requests, summary={**base, **summary}, status="ok", reason="r")


def test_step_row_figures() -> None:
    served = {"pid": 1, "thread": "t"}
    requests = [
        req("w", warmup=True, recv=5 * MS, enter_ns=0, exit_ns=10 * MS, **served),  # in window, not counted
        req("a", recv=0, enter_ns=0, exit_ns=10 * MS, cpu_enter_ns=0, cpu_exit_ns=100 * MS, **served),
        req("b", intended=0, recv=1_000 * MS, enter_ns=5 * MS, exit_ns=20 * MS, late=True, **served),
        req("c", recv=1_001 * MS),  # after the window
        req("d", sent=None, recv=None, status=503, error="HTTP status 503"),
        req("e", recv=None, status=0, error="connection refused 1.2"),
        req("f", recv=None, status=0, error="reset"),
    ]
    row = step_row(step_of(requests), delay_s=0.05)
    assert row == {
        "server": "s", "offered_rps": 4.0, "status": "ok", "reason": "r", "duration_s": 1.0, "sent": 5,
        "completed": 3, "failed": 3, "rejected": 2,
        "failures": {"HTTP status 503": 1, "connection refused N": 1, "reset": 1},
        "achieved_rps": 3.0, "timed_out": 0, "protocols": {},
        # failures count in the percentiles at the time they settled (d, e, f: at 0): nearest rank of 6 samples;
        # p90 needs 10 samples, p99 100, p99.9 1000
        "p50_s": 0.0, "p90_s": None, "p99_s": None, "p999_s": None, "max_s": pytest.approx(1.001),
        "late_sends": 1, "client_lagged": True, "max_in_flight": 3, "server_cpu_cores": pytest.approx(0.1),
        "server_cpu_per_request_s": pytest.approx(0.1 / 3), "client_cpu_s": 0.5, "client_cpu_cores": 0.5,
        "delay_s": 0.05,
    }  # fmt: skip


def test_step_row_without_a_window_or_answers() -> None:
    row = step_row(step_of([req(recv=None, error="x")], counted_end_ns=0, counted_cpu_ns=None), delay_s=0.05)
    assert row["duration_s"] is None and row["achieved_rps"] is None
    # one failure is one latency sample: a max, too few for a median
    assert row["p50_s"] is None and row["max_s"] == 0.0 and row["max_in_flight"] is None
    assert row["server_cpu_cores"] is None and row["client_cpu_s"] == 0 and row["client_cpu_cores"] is None
    assert row["server_cpu_per_request_s"] is None
    assert row["client_lagged"] is False
    empty = step_row(step_of([], counted_start_ns=None), delay_s=0.05)
    assert empty["client_lagged"] is False and empty["duration_s"] is None and empty["sent"] == 0
    assert step_row(step_of([req()], counted_end_ns=None), delay_s=0.05)["achieved_rps"] is None
    assert step_row(step_of([req()], counted_start_ns=1.5), delay_s=0.05)["duration_s"] is None


def test_a_client_lags_only_past_one_percent_late() -> None:
    on_time = [req(str(i)) for i in range(99)]
    assert step_row(step_of([*on_time, req(late=True)]), delay_s=0.05)["client_lagged"] is False
    assert step_row(step_of([*on_time[:98], req(late=True), req(late=True)]), delay_s=0.05)["client_lagged"] is True
    assert step_row(step_of([req(error="x", late=True)]), delay_s=0.05)["late_sends"] == 1


def test_step_row_over_a_two_second_window() -> None:
    cpu = {"pid": 1, "cpu_enter_ns": 0, "cpu_exit_ns": 500 * MS}
    requests = [
        req("a", intended=1_000 * MS, recv=1_500 * MS, enter_ns=1_000 * MS, exit_ns=1_000 * MS + 10, **cpu),
        req("b", intended=1_000 * MS, recv=2_500 * MS),
        req("c", intended=1_000 * MS, recv=None, error="x", enter_ns=0, exit_ns=10),  # failed: not in flight
        req("d", intended=1_000 * MS, recv=None, error="y"),
        req("e", intended=1_000 * MS, recv=None, error="z"),
    ]
    row = step_row(step_of(requests, counted_start_ns=1_000 * MS, counted_end_ns=3_000 * MS), delay_s=0.05)
    assert (row["duration_s"], row["achieved_rps"], row["completed"], row["failed"]) == (2.0, 1.0, 2, 3)
    assert row["max_in_flight"] == 1
    assert row["server_cpu_cores"] == pytest.approx(0.25)
    assert row["server_cpu_per_request_s"] == pytest.approx(0.25)  # 0.5 s of CPU over 2 answers in the window
    assert row["client_cpu_cores"] == pytest.approx(0.25)
    assert (row["p50_s"], row["max_s"]) == (0.0, 1.5)
    # a handler that started before the window (a warm-up's) is not the window's CPU
    early = step_row(step_of([req("a", intended=1_000 * MS, recv=1_500 * MS, enter_ns=1_000 * MS - 1,
                                  exit_ns=1_000 * MS + 10, **cpu)],
                             counted_start_ns=1_000 * MS, counted_end_ns=3_000 * MS), delay_s=0.05)  # fmt: skip
    assert early["server_cpu_cores"] is None
    late = step_row(step_of([req("a", intended=1_000 * MS, recv=1_500 * MS, enter_ns=1_000 * MS,
                                 exit_ns=3_000 * MS + 1, **cpu)],
                            counted_start_ns=1_000 * MS, counted_end_ns=3_000 * MS), delay_s=0.05)  # fmt: skip
    assert late["server_cpu_cores"] is None
    assert step_row(step_of([req(late=True)]), delay_s=0.05)["client_lagged"] is True


def test_percentiles_need_enough_samples_and_take_the_nearest_rank() -> None:
    assert [min_samples(p) for p in (0.5, 0.9, 0.99, 0.999)] == [2, 10, 100, 1000]
    assert min_samples(0.0) == 1
    assert percentile([1.0], 0.5) is None
    assert percentile([3.0, 1.0], 0.5) == 1.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    tens = [float(i) for i in range(10, 0, -1)]
    assert percentile(tens, 0.9) == 9.0
    assert percentile(tens[:9], 0.9) is None
    assert percentile([5.0], 0.0) == 5.0  # rank 0 is the first, not the last
    assert percentile([float(i) for i in range(1, 101)], 0.99) == 99.0


def test_a_failure_settles_when_it_ended() -> None:
    answered = req(intended=1, sent=2, recv=30)
    assert answered.settled_ns(10, 20) == 30
    refused = req(intended=5, sent=7, recv=None, error="connection refused")
    assert refused.settled_ns(100, 1_000) == 7
    assert req(intended=5, sent=None, recv=None, error="cap").settled_ns(100, 1_000) == 5
    timed_out = req(intended=5, sent=7, recv=None, error=TIMEOUT_ERROR)
    assert timed_out.timed_out and not refused.timed_out
    assert timed_out.settled_ns(100, 1_000) == 107
    assert timed_out.settled_ns(100, 50) == 50  # at most the client's end
    assert timed_out.settled_ns(None, 50) == 50
    assert timed_out.settled_ns(0, 50) == 50
    assert timed_out.settled_ns(100, None) == 107
    assert timed_out.settled_ns(None, None) == 7
    never_sent = req(intended=5, sent=None, recv=None, error=TIMEOUT_ERROR)
    assert never_sent.settled_ns(100, 60) == 60
    assert never_sent.settled_ns(100, None) == 5


def test_timed_out_requests_count_in_the_row() -> None:
    requests = [req(str(i), intended=0, recv=10 * MS) for i in range(8)]
    requests += [req("t1", sent=0, recv=None, error=TIMEOUT_ERROR), req("t2", sent=0, recv=None, error=TIMEOUT_ERROR)]
    row = step_row(step_of(requests, timeout_ns=500 * MS, end_ns=2_000 * MS), delay_s=0.05)
    assert row["timed_out"] == 2 and row["failed"] == 2
    assert row["p50_s"] == pytest.approx(0.01) and row["p90_s"] == pytest.approx(0.5)  # the 9th of 10: a timeout
    assert row["max_s"] == pytest.approx(0.5)
    assert row["failures"] == {TIMEOUT_ERROR: 2}
    capped = step_row(step_of(requests, timeout_ns=500 * MS, end_ns=300 * MS), delay_s=0.05)
    assert capped["max_s"] == pytest.approx(0.3)
