"""The Nagle / delayed-ACK signature: answers ~40 ms after the handler returned, on kept connections,
said next to the cell that carries it, with the evidence; not said where it is absent."""

from __future__ import annotations

import dataclasses

from harness.compare.stats import ACK_DELAY_MIN_REQUESTS, ack_delays, nagle
from tests.helpers import MS, batch, concurrent_requests


def late(requests: tuple, gap_ms: float) -> tuple:  # type: ignore[type-arg]
    """The same requests, answered ``gap_ms`` after their handler returned."""
    return tuple(dataclasses.replace(r, recv_ns=r.exit_ns + int(gap_ms * MS)) for r in requests)


def test_answers_40_ms_after_the_handler_on_kept_connections_carry_the_signature() -> None:
    batches = [batch("django-runserver", "go-goroutines", i, 1.2, late(concurrent_requests(), 41.5)) for i in (1, 2)]
    found = ack_delays(batches)
    assert (found["ack_checked"], found["ack_delayed"]) == (10, 10)
    assert round(found["ack_delay_s"] * 1e3, 1) == 41.5 and nagle(found)


def test_a_prompt_answer_a_closed_connection_or_fresh_connections_do_not() -> None:
    prompt = [batch("go-nethttp", "go-goroutines", 1, 1.0, late(concurrent_requests(), 1.2))]
    assert ack_delays(prompt)["ack_delayed"] == 0 and not nagle(ack_delays(prompt))
    closed = tuple(dataclasses.replace(r, server_closed=True) for r in late(concurrent_requests(), 41))
    assert ack_delays([batch("gunicorn-default", "go-goroutines", 1, 5.0, closed)]) == {}
    fresh = dataclasses.replace(batch("x", "y", 1, 1.2, late(concurrent_requests(), 41)), connections="fresh")
    assert ack_delays([fresh]) == {}
    one = late(concurrent_requests(), 1.0)[:-1] + late(concurrent_requests(), 41)[-1:]
    assert ack_delays([batch("x", "y", 1, 1.0, one)])["ack_delayed"] == 1 < ACK_DELAY_MIN_REQUESTS
    assert not nagle(ack_delays([batch("x", "y", 1, 1.0, one)]))  # one late answer is noise, not a signature


def test_the_report_says_it_next_to_the_cell_with_the_evidence(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from harness.compare import report
    from harness.compare.markdown import MarkdownExporter
    from tests.helpers import fixed_results

    results = fixed_results(tmp_path)
    try:
        results.settings["servers"].append("django-runserver")
        results.plan("django-runserver", "go-goroutines")
        for i in (0, 1, 2):
            results.add_batch(batch("django-runserver", "go-goroutines", i, 1.21, late(concurrent_requests(), 42.0)))
        results.finish("django-runserver", "go-goroutines", "ok")
        md = MarkdownExporter().render(report.build(results))
    finally:
        results.close()
    assert "(delayed ACK)" in md.split("## Latency")[0]
    assert "- `django-runserver` x `go-goroutines`: 10 of 10 requests answered 42 ms (median)" in md
    assert md.count("(delayed ACK)") >= 2
    assert "- `go-nethttp` x" not in md  # answered 1 ms after its handler: no signature
