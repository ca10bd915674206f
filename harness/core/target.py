"""A server the harness did not start (``compare``, ``sweep`` and ``load`` with
``--target URL``): what the run knows of it (``Target``), checking the URL, and
probing the server before any batch.

Two kinds of target. Run ``--as`` a catalog server, it gets the article's request
(``GET <url>?client=probe``) and must answer the article's JSON (``hello``, and
``client`` echoed back where the server echoes it): ``/health`` is the harness's
own and a deployed server need not have it. Any other target is a user's endpoint
(``core.request.RequestSpec``): the URL as given, with the method, headers and body
the user gave, and an expected status.

The probe also tells whether the server gives evidence (the ``Concurrency-Evidence``
header of the middleware, or the article's JSON fields) and how long it held the
request. D must be the hold of one request, or every ratio is off: a target whose
handler held the probe for another D than ``--delay``, or that gives no evidence and
whose round trip is under 0.75 D or over 1.5 D, is refused (``--force`` runs it
anyway, and the report says so). ``--delay auto`` measures D instead: the median
round trip of ``AUTO_SAMPLES`` requests sent one at a time, after one to warm the
connection. Every failure is one line (``UsageError``, exit status 2).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from harness.core.errors import UsageError
from harness.core.protocol import check_body, missing_evidence, parse_evidence_header
from harness.core.request import EVIDENCE_HEADER, RequestSpec, article_headers

PROBE_CLIENT = "probe"
HELD_TOLERANCE = 0.25
"""How far the target's hold may be from ``--delay`` (a quarter of D) before the run is refused."""
ROUND_TRIP_MAX = 1.5
"""Without evidence, a probe's round trip above this many D is refused: the target holds
longer than D (or the network adds that much), and every ratio would be off."""
AUTO_SAMPLES = 5
"""Solo requests whose median round trip is D with ``--delay auto``."""


@dataclass(frozen=True)
class Target:
    """A server the harness did not start: the clients run against ``url``."""

    url: str
    name: str
    """Its name in the report: the catalog entry it runs (``--as``), else its host:port."""
    declared: bool = False
    """``name`` is a catalog entry (``--as``): its claims and capacity apply."""
    shared_clock: bool = False
    """It runs on this host (``--target-clock same``): its handlers' stamps and the
    client's are on one monotonic clock and are checked against each other."""
    evidence: bool = True
    """Its answers carry evidence (seen when it was probed)."""
    held_s: float | None = None
    """How long its handler held the probe (its own stamps); ``None`` before the probe or without evidence."""
    round_trip_s: float | None = None
    """The probe's round trip; ``None`` before the probe."""
    request: RequestSpec | None = None
    """A user's endpoint: what the clients send; ``None``: the article's request (``--as``)."""
    capacity: int | None = None
    """How many requests it serves at once, as the user declares (``--capacity``) or the ``--as`` entry does."""
    evidence_source: str = "none"
    """Where the evidence came from: ``header`` (the middleware), ``body`` (the article's JSON) or ``none``."""
    delay_samples_s: tuple[float, ...] = ()
    """``--delay auto``: the solo round trips whose median is D."""
    forced: bool = False
    """``--force``: run even though the probe did not match D."""
    server_pid: int | None = None
    """``--server-pid``: the process tree sampled while the batches run (this host only)."""

    def settings(self) -> dict[str, Any]:
        """What a report's settings say about the target."""
        return {
            "url": self.url,
            "name": self.name,
            "as": self.name if self.declared and self.request is None else None,
            "clock": "same" if self.shared_clock else "other",
            "evidence": self.evidence,
            "evidence_source": self.evidence_source,
            "probe_held_s": self.held_s,
            "probe_round_trip_s": self.round_trip_s,
            "request": self.request.settings() if self.request else None,
            "capacity": self.capacity,
            "delay_auto_samples_s": list(self.delay_samples_s) or None,
            "forced": self.forced,
            "server_pid": self.server_pid,
        }


def target_line(target: dict[str, Any], *, clock: bool = True) -> str:
    """One line on a target, from a report's settings: what it is and what it gave."""
    source = {"header": "evidence from its Concurrency-Evidence header",
              "body": "evidence fields in its answers"}.get(target.get("evidence_source") or "")  # fmt: skip
    if target.get("evidence") and source is None:
        source = "evidence fields"
    evidence = source or "no evidence (claims not checked)"
    line = f"target {target['name']} at {target['url']}: not started by the harness; {evidence}"
    if target.get("server_pid"):
        line += f"; process tree of pid {target['server_pid']} sampled"
    if clock:
        line += "; " + (
            "one clock with this host"
            if target.get("clock") == "same"
            else "its own clock (client vs server order not checked)"
        )
    if samples := target.get("delay_auto_samples_s"):
        line += f"; D = {statistics.median(samples):.3g} s (--delay auto: the median of {len(samples)} solo requests)"
    return line


def probed(target: Target, delay_s: float | None, *, force: bool = False) -> Target:
    """``target`` once probed (``probe``): whether it gives evidence, how long it held the probe;
    with ``delay_s=None`` (``--delay auto``) also the D measured."""
    found = probe(target.url, delay_s, request=target.request, force=force)
    return replace(
        target,
        evidence=found.evidence_source != "none",
        evidence_source=found.evidence_source,
        held_s=found.held_s,
        round_trip_s=found.round_trip_s,
        delay_samples_s=found.samples_s,
        forced=force,
    )


def run_delay(target: Target, given: float | None) -> float:
    """The D of a run against ``target``: the one given, or the median measured (``--delay auto``)."""
    if given is not None:
        return given
    return float(f"{statistics.median(target.delay_samples_s):.3g}")  # D to 3 digits: the samples are kept


@dataclass(frozen=True)
class Probe:
    evidence_source: str
    """``header``, ``body`` or ``none``."""
    held_s: float | None
    """How long the handler held the probe, from its own stamps; ``None`` without evidence."""
    round_trip_s: float
    samples_s: tuple[float, ...] = ()
    """``--delay auto``: the solo round trips measured after the probe."""


def target_url(url: str, *, article: bool = True) -> tuple[str, str]:
    """``url`` as the clients use it and its ``host:port``, or a one-line error. For the
    article's request (``article``) the URL ends in ``/`` and has no query (the clients add
    ``?client=NAME``); a user's endpoint keeps its path and query as given."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"--target must be an http:// URL with a host, such as http://198.18.0.1:8000/; got {url!r}")
    try:
        port = parts.port or 80
    except ValueError:
        raise UsageError(f"--target has a bad port: {url!r}") from None
    if parts.fragment:
        raise UsageError(f"--target takes no fragment (#...): {url!r}")
    if parts.query and article:
        raise UsageError(f"--target with --as takes no query (the clients add ?client=NAME): {url!r}")
    path = parts.path if parts.path.endswith("/") or not article else parts.path + "/"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit(("http", f"{host}:{port}", path or "/", parts.query, "")), f"{host}:{port}"


def _send(client: httpx.Client, url: str, request: RequestSpec | None) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    if request is None:
        response = client.get(url, params={"client": PROBE_CLIENT}, headers=article_headers())
    else:
        response = client.request(request.method, url, headers=request.http_headers(), content=request.body())
    return response, time.perf_counter() - started


def _problem(response: httpx.Response, request: RequestSpec | None) -> tuple[str | None, str]:
    """What is wrong with an answer (``None``: nothing) and how to say what was expected."""
    if request is not None:
        ok = request.accepts(response.status_code)
        return (
            None if ok else f"HTTP status {response.status_code}"
        ), f"with a status in --expect-status {request.expect_text}"
    try:
        body = response.json()
    except ValueError:
        body = response.text[:120]
    return check_body(PROBE_CLIENT, response.status_code, body, evidence_required=False), "the article's JSON"


def _evidence(response: httpx.Response) -> tuple[str, float | None, str | None]:
    """Where the answer's evidence is (``header``, ``body``, ``none``), the handler's hold, and
    what is wrong with a header that is there."""
    if (header := response.headers.get(EVIDENCE_HEADER)) is not None:
        fields, problem = parse_evidence_header(header)
        if problem:
            return "none", None, problem
        return "header", (fields["exit_ns"] - fields["enter_ns"]) / 1e9, None
    try:
        body = response.json()
    except ValueError:
        return "none", None, None
    if isinstance(body, dict) and not missing_evidence(body):
        return "body", (body["exit_ns"] - body["enter_ns"]) / 1e9, None
    return "none", None, None


def probe(url: str, delay_s: float | None, *, request: RequestSpec | None = None, force: bool = False) -> Probe:
    """Requests to the target, one at a time, before any batch; a one-line ``UsageError`` when it
    is unreachable, does not answer as expected, or holds for another D (unless ``force``).
    ``delay_s=None``: measure D (``--delay auto``)."""
    timeout = 2 * (delay_s or 10.0) + 10
    samples: list[float] = []
    try:
        with httpx.Client(trust_env=False, timeout=timeout) as client:  # no proxy: the URL is the target
            response, round_trip = _send(client, url, request)
            problem, expected = _problem(response, request)
            if problem is None and delay_s is None:
                for _ in range(AUTO_SAMPLES):
                    extra, took = _send(client, url, request)
                    if (bad := _problem(extra, request)[0]) is not None:
                        problem = bad
                        break
                    samples.append(took)
    except httpx.HTTPError as exc:
        raise UsageError(f"--target {url} is unreachable: {type(exc).__name__}: {exc or 'no answer'}") from None
    if problem is not None:
        raise UsageError(f"--target {url} does not answer {expected}: {problem}")
    source, held, header_problem = _evidence(response)
    if header_problem:
        raise UsageError(f"--target {url} sends a {EVIDENCE_HEADER} header this harness cannot read: {header_problem}")
    if delay_s is None:
        found = statistics.median(samples)
        if found < 0.001:
            raise UsageError(
                f"--target {url} answers in {found * 1e3:.2g} ms: too fast to measure concurrency against; "
                "give an endpoint that holds each request for a while, or --delay"
            )
        return Probe(source, held, round_trip, tuple(samples))
    if not force:
        _check_delay(url, delay_s, held, round_trip)
    return Probe(source, held, round_trip)


def _check_delay(url: str, delay_s: float, held: float | None, round_trip: float) -> None:
    """Refuse a target whose probe does not fit ``--delay`` (the hold, or without evidence the round trip)."""
    hint = "pass the D it serves with, --delay auto to measure it, or --force to run anyway"
    if held is not None and abs(held - delay_s) > HELD_TOLERANCE * delay_s:
        raise UsageError(f"--target {url} held the probe {held:g} s but --delay is {delay_s:g} s: {hint}")
    if held is None and round_trip < (1 - HELD_TOLERANCE) * delay_s:
        raise UsageError(f"--target {url} answered in {round_trip:.3g} s, less than --delay {delay_s:g} s: {hint}")
    if held is None and round_trip > ROUND_TRIP_MAX * delay_s:
        raise UsageError(
            f"--target {url} answered in {round_trip:.3g} s, more than {ROUND_TRIP_MAX:g} x --delay {delay_s:g} s, "
            f"and gives no evidence of how long it held the request: {hint}"
        )
