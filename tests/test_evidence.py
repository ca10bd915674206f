from harness.core.evidence import evidence, max_in_flight
from tests.helpers import concurrent_requests, request, serial_requests


def test_all_at_once_is_n_in_flight() -> None:
    assert max_in_flight(concurrent_requests(5)) == 5


def test_back_to_back_requests_do_not_overlap() -> None:
    # exit of one == enter of the next: exits are counted first
    assert max_in_flight(serial_requests(5)) == 1


def test_partial_overlap() -> None:
    records = [
        request("A", enter_ms=0, exit_ms=100),
        request("B", enter_ms=50, exit_ms=150),
        request("C", enter_ms=60, exit_ms=70),
        request("D", enter_ms=150, exit_ms=200),
    ]
    assert max_in_flight(records) == 3


def test_failed_requests_are_not_evidence() -> None:
    records = [*concurrent_requests(3), request("X", enter_ms=0, exit_ms=1, error="ReadTimeout")]
    ev = evidence(records)
    assert (ev.max_in_flight, ev.processes, ev.threads) == (3, 1, 3)


def test_threads_are_counted_per_process() -> None:
    # the same thread id in two processes is two workers
    records = [
        request("A", enter_ms=0, exit_ms=1, pid=1, thread="t1"),
        request("B", enter_ms=0, exit_ms=1, pid=2, thread="t1"),
    ]
    ev = evidence(records)
    assert (ev.processes, ev.threads) == (2, 2)


def test_no_records() -> None:
    ev = evidence([])
    assert (ev.max_in_flight, ev.processes, ev.threads) == (0, 0, 0)
