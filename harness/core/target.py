"""A server the harness did not start (``compare``, ``sweep`` and ``load`` with
``--target URL``): what the run knows of it (``Target``), checking the URL, and
probing the server once before any batch.

The probe is one ``GET <url>?client=probe``, the request the clients will send:
the article's JSON (``hello``, and ``client`` echoed back where the server echoes
it) is the contract, while ``/health`` is the harness's own and a deployed server
need not have it. The answer also tells whether the server gives the evidence
fields, and, when it does, how long its handler held the request: a target that
holds for another D than ``--delay`` would make every ratio wrong, so that is an
error too. Every failure is one line (``UsageError``, exit status 2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from harness.core.errors import UsageError
from harness.core.protocol import check_body, missing_evidence

PROBE_CLIENT = "probe"
HELD_TOLERANCE = 0.25
"""How far the target's hold may be from ``--delay`` (a quarter of D) before the run is refused."""


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
    """Its answers carry the evidence fields (seen when it was probed)."""
    held_s: float | None = None
    """How long its handler held the probe (its own stamps); ``None`` before the probe or without evidence."""
    round_trip_s: float | None = None
    """The probe's round trip; ``None`` before the probe."""

    def settings(self) -> dict[str, Any]:
        """What a report's settings say about the target."""
        return {
            "url": self.url,
            "name": self.name,
            "as": self.name if self.declared else None,
            "clock": "same" if self.shared_clock else "other",
            "evidence": self.evidence,
            "probe_held_s": self.held_s,
            "probe_round_trip_s": self.round_trip_s,
        }


def target_line(target: dict[str, Any], *, clock: bool = True) -> str:
    """One line on a target, from a report's settings: what it is and what it gave."""
    evidence = "evidence fields" if target.get("evidence") else "no evidence fields (claims not checked)"
    line = f"target {target['name']} at {target['url']}: not started by the harness; {evidence}"
    if clock:
        line += "; " + (
            "one clock with this host"
            if target.get("clock") == "same"
            else "its own clock (client vs server order not checked)"
        )
    return line


def probed(target: Target, delay_s: float) -> Target:
    """``target`` once probed (``probe``): whether it gives evidence, and how long it held the probe."""
    found = probe(target.url, delay_s)
    return replace(target, evidence=found.evidence, held_s=found.held_s, round_trip_s=found.round_trip_s)


@dataclass(frozen=True)
class Probe:
    evidence: bool
    """The answer carried the evidence fields (pid, thread, enter/exit, handler)."""
    held_s: float | None
    """How long the handler held the probe, from its own stamps; ``None`` without evidence."""
    round_trip_s: float


def target_url(url: str) -> tuple[str, str]:
    """``url`` as the clients use it (ends in ``/``, no query) and its ``host:port``, or a one-line error."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"--target must be an http:// URL with a host, such as http://198.18.0.1:8000/; got {url!r}")
    try:
        port = parts.port or 80
    except ValueError:
        raise UsageError(f"--target has a bad port: {url!r}") from None
    if parts.query or parts.fragment:
        raise UsageError(f"--target takes no query or fragment (the clients add ?client=NAME): {url!r}")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit(("http", f"{host}:{port}", path, "", "")), f"{host}:{port}"


def probe(url: str, delay_s: float) -> Probe:
    """One request to the target, before any batch; a one-line ``UsageError`` when it is
    unreachable, does not answer the article's JSON, or holds for another D."""
    timeout = 2 * delay_s + 10
    started = time.perf_counter()
    try:
        with httpx.Client(trust_env=False, timeout=timeout) as client:  # no proxy: the URL is the target
            response = client.get(url, params={"client": PROBE_CLIENT})
    except httpx.HTTPError as exc:
        raise UsageError(f"--target {url} is unreachable: {type(exc).__name__}: {exc or 'no answer'}") from None
    round_trip = time.perf_counter() - started
    try:
        body = response.json()
    except ValueError:
        body = response.text[:120]
    if problem := check_body(PROBE_CLIENT, response.status_code, body, evidence_required=False):
        raise UsageError(f"--target {url} does not answer the article's JSON: {problem}")
    evidence = not missing_evidence(body)
    held = (body["exit_ns"] - body["enter_ns"]) / 1e9 if evidence else None
    if held is not None and abs(held - delay_s) > HELD_TOLERANCE * delay_s:
        raise UsageError(
            f"--target {url} held the probe {held:g} s but --delay is {delay_s:g} s: pass the D it serves with"
        )
    if held is None and round_trip < (1 - HELD_TOLERANCE) * delay_s:
        raise UsageError(
            f"--target {url} answered in {round_trip:.3g} s, less than --delay {delay_s:g} s: pass the D it serves with"
        )
    return Probe(evidence=evidence, held_s=held, round_trip_s=round_trip)
