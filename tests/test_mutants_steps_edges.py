"""harness.load.steps on the edges the step tests left open (docs/mutants.md): a failed request
is not in flight, a handler that ends on the window's end is the window's CPU, no client CPU is 0."""

from __future__ import annotations

from dataclasses import replace

from harness.load.steps import LoadRequest, Step, parse_line, step_row

MS = 1_000_000


def req(name: str, *, recv: int | None, error: str = "", **body: object) -> LoadRequest:
    return LoadRequest(name=name, warmup=False, intended_ns=0, sent_ns=0, recv_ns=recv, status=200, error=error,
                       late=False, server_closed=False, **body)  # type: ignore[arg-type]  # fmt: skip


def row(requests: list[LoadRequest], **summary: object) -> dict[str, object]:
    base: dict[str, object] = {"counted_start_ns": 0, "counted_end_ns": 1_000 * MS}
    return step_row(Step("s", 4.0, requests, {**base, **summary}), delay_s=0.05)


def test_a_failed_request_is_not_in_flight() -> None:
    ok = req("a", recv=20 * MS, pid=1, enter_ns=5 * MS, exit_ns=15 * MS)
    failed = req("b", recv=None, error="x", pid=1, enter_ns=5 * MS, exit_ns=15 * MS)
    assert row([ok, failed])["max_in_flight"] == 1


def test_a_handler_ending_on_the_windows_end_is_counted() -> None:
    cpu = {"pid": 1, "cpu_enter_ns": 0, "cpu_exit_ns": 500 * MS}
    assert row([req("a", recv=1_000 * MS, enter_ns=0, exit_ns=1_000 * MS, **cpu)])["server_cpu_cores"] == 0.5


def test_no_client_cpu_is_zero_cores() -> None:
    assert row([], counted_cpu_ns=None)["client_cpu_cores"] == 0.0


def test_a_step_counts_the_protocols_its_counted_requests_were_answered_with() -> None:
    raw = {"name": "a", "warmup": False, "intended_ns": 0, "recv_ns": 10 * MS, "status": 200}
    assert parse_line({**raw, "proto": "HTTP/2.0"}).proto == "HTTP/2.0"
    assert parse_line(raw).proto == ""  # no answer, or a client that does not say
    h2 = [replace(req(n, recv=10 * MS), proto="HTTP/2.0") for n in "ab"]
    warm = replace(req("w", recv=10 * MS), proto="HTTP/1.1", warmup=True)
    assert row([*h2, replace(req("c", recv=10 * MS), proto="HTTP/1.1"), req("d", recv=None, error="x"), warm])[
        "protocols"
    ] == {"HTTP/2.0": 2, "HTTP/1.1": 1}
