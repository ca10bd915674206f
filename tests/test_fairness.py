"""Every client on the same footing, and verdicts from evidence: the unit-level checks.

Connections counted from the server's side, parallelism from the handlers' CPU
stamps, client saturation, the clocks of client and server checked against each
other, warm-up failures, durations handed to Go, and the cgroup's CPU quota.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.compare.runner import failed_requests_reason
from harness.compare.stats import batch_frame, pairing_frame
from harness.core.environment import cgroup_cpu_quota
from harness.core.errors import ClientError
from harness.core.evidence import evidence, new_connections
from harness.core.protocol import CLOCK_TOLERANCE_NS, parse_batch_line
from harness.core.records import Pairing
from harness.core.serving import seconds
from tests.helpers import MS, batch, concurrent_requests, request


def with_ports(requests: tuple, ports: list[int]) -> tuple:
    return tuple(replace(r, peer_port=p) for r, p in zip(requests, ports, strict=True))


def test_new_connections_are_ports_the_server_had_not_seen() -> None:
    first = with_ports(concurrent_requests(), [40001, 40002, 40003, 40004, 40005])
    reused = with_ports(concurrent_requests(), [40003, 40001, 40002, 40005, 40004])
    fresh = with_ports(concurrent_requests(), [40006, 40007, 40008, 40009, 40010])
    assert new_connections([first, reused, fresh]) == [5, 0, 5]
    assert new_connections([concurrent_requests()]) == [None]  # a server that does not say


def test_pairing_reports_new_connections_per_counted_batch_and_who_closed_them() -> None:
    closed = tuple(replace(r, server_closed=True) for r in with_ports(concurrent_requests(), [1, 2, 3, 4, 5]))
    again = tuple(replace(r, server_closed=True) for r in with_ports(concurrent_requests(), [6, 7, 8, 9, 10]))
    batches = [batch("gunicorn-default", "go-goroutines", r, 1.0, b) for r, b in enumerate((closed, again))]
    pairing = Pairing("gunicorn-default", "go-goroutines", "ok", "", batches)
    row = pairing_frame([pairing], batch_frame([pairing]), delay_s=0.2, clients=5, work="wait").iloc[0]
    assert row["new_connections"] == 5 and row["server_closed"]


def cpu_stamped(pid: int, enter_ms: float, exit_ms: float, cpu_from_ms: float, cpu_to_ms: float, name: str = "A"):
    return replace(
        request(name, enter_ms=enter_ms, exit_ms=exit_ms, pid=pid, thread=f"t{name}"),
        cpu_enter_ns=int(cpu_from_ms * MS),
        cpu_exit_ns=int(cpu_to_ms * MS),
    )


def test_parallelism_is_server_cpu_over_batch_wall() -> None:
    # two processes, each computing 400 ms in a 400 ms batch: two cores' worth
    two = (cpu_stamped(1, 0, 400, 1000, 1400, "A"), cpu_stamped(2, 0, 400, 50, 450, "B"))
    # one process whose five threads take turns: 1000 ms of CPU over the whole window, not 5 x 1000
    gil = tuple(cpu_stamped(1, 0, 1000, 0 + i, 1000 - i, chr(65 + i)) for i in range(5))
    assert evidence(two).server_cpu_s == pytest.approx(0.8)
    assert evidence(gil).server_cpu_s == pytest.approx(1.0)
    frame = batch_frame([Pairing("s", "c", "ok", "", [batch("s", "c", 1, 2.0, two)])])  # wall = 2 x 0.2 s
    assert frame["parallelism"].iloc[0] == pytest.approx(2.0)
    assert evidence(concurrent_requests()).server_cpu_s is None  # no stamps: not measured, not 0


def test_a_busy_client_is_marked_client_limited() -> None:
    busy = replace(batch("s", "c", 1, 1.0, concurrent_requests()), client_cpu_s=0.15)  # 0.15 s of a 0.2 s batch
    idle = replace(batch("s", "c", 2, 1.0, concurrent_requests()), client_cpu_s=0.002)
    for batches, limited in (([busy, busy], True), ([idle, idle], False)):
        pairing = Pairing("s", "c", "ok", "", batches)
        row = pairing_frame([pairing], batch_frame([pairing]), delay_s=0.2, clients=5, work="wait").iloc[0]
        assert bool(row["client_limited"]) is limited


def batch_line(requests: list[dict], clock: str = "monotonic") -> str:
    return json.dumps({"batch": 0, "wall_s": 0.2, "clock": clock, "cpu_ns": 3_000_000, "connections": "fresh",
                       "requests": requests})  # fmt: skip


def answered(name: str, sent: int, enter: int, exit_: int, recv: int, clock: str = "monotonic") -> dict:
    body = {"hello": "world", "client": name, "pid": 1, "thread": "t1", "enter_ns": enter, "exit_ns": exit_,
            "handler": "h", "clock": clock, "peer_port": 5000, "cpu_enter_ns": 1, "cpu_exit_ns": 2}  # fmt: skip
    return {"name": name, "sent_ns": sent, "recv_ns": recv, "status": 200, "body": body, "server_closed": True}


def test_a_batch_line_carries_client_cpu_connections_and_new_evidence() -> None:
    parsed = parse_batch_line(batch_line([answered("A", 0, 10, 20, 30)]), client="c", clients=1)
    assert parsed.cpu_s == pytest.approx(0.003) and parsed.connections == "fresh"
    r = parsed.requests[0]
    assert (r.peer_port, r.cpu_enter_ns, r.cpu_exit_ns, r.server_closed) == (5000, 1, 2, True)


@pytest.mark.parametrize(
    ("stamps", "clock", "message"),
    [
        ((0, 10, 20, 30), "realtime", "the client stamps clock 'realtime' but the server stamps ['monotonic']"),
        ((50 * MS, 10, 20, 60 * MS), "monotonic", "breaks sent <= enter <= exit <= recv by more than 1 ms"),
        ((0, 10, 20 * MS, 15 * MS), "monotonic", "breaks sent <= enter <= exit <= recv"),
    ],
)
def test_client_and_server_clocks_are_checked(stamps: tuple[int, int, int, int], clock: str, message: str) -> None:
    with pytest.raises(ClientError) as info:
        parse_batch_line(batch_line([answered("A", *stamps)], clock=clock), client="c", clients=1)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_clock_tolerance_allows_a_stamp_within_a_millisecond() -> None:
    late_sent = CLOCK_TOLERANCE_NS // 2
    parse_batch_line(batch_line([answered("A", late_sent, 0, 20, 30)]), client="c", clients=1)


def test_warmup_failures_are_reported_as_such() -> None:
    bad = (request("A", enter_ms=0, exit_ms=1, error="HTTP status 500"), *concurrent_requests(4))
    warm = batch("s", "c", 0, 1.0, bad)
    counted = batch("s", "c", 1, 1.0, concurrent_requests())
    assert failed_requests_reason([warm, counted]) == (
        "1 request(s) failed (1 in the warm-up batch), e.g. A: HTTP status 500"
    )
    assert failed_requests_reason([counted, counted]) == ""
    pairing = Pairing("s", "c", "failed", "", [warm, counted])
    row = pairing_frame([pairing], batch_frame([pairing]), delay_s=0.2, clients=5, work="wait").iloc[0]
    assert (row["failed_requests"], row["warmup_failed_requests"]) == (0, 1)


@pytest.mark.parametrize(
    ("value", "text"), [(0.00001, "0.00001"), (0.5, "0.5"), (1e6, "1000000"), (25.0, "25"), (0.002, "0.002")]
)
def test_durations_for_go_have_no_exponent(value: float, text: str) -> None:
    assert seconds(value) == text


def test_cgroup_quota_caps_the_usable_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.core.environment as metadata

    (tmp_path / "cpu.max").write_text("150000 100000\n")
    real_read = Path.read_text

    def fake_read(self: Path, *args: object, **kw: object) -> str:
        if str(self) == "/proc/self/cgroup":
            return "0::/\n"
        return real_read(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", fake_read)
    assert cgroup_cpu_quota(tmp_path) == pytest.approx(1.5)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    monkeypatch.setattr(metadata, "cgroup_cpu_quota", lambda: 0.5)
    assert metadata.usable_cores() == 1
