"""What a server that holds k requests of D seconds each can do under an arrival rate λ.

Its ceiling is ``k / D`` requests per second. Below it, a request waits for nothing
and its latency is about D. Above it, the queue grows by ``λ - k / D`` requests per
second, so a request arriving t seconds into the step waits about
``(λ / (k / D) - 1) t``: latency climbs through the step. With Poisson arrivals a
queue forms below the ceiling too; its mean wait is taken from the M/D/k
approximation ``Wq(M/D/k) ≈ Wq(M/M/k) / 2`` (Cosmetatos), with Erlang's C for
M/M/k: ``Wq(M/M/k) = C(k, a) / (k μ - λ)``, ``a = λ / μ``, ``μ = 1 / D``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["consistent", "disagrees", "inconclusive", "not checked"]
"""``not checked``: a ``--target`` that declares no capacity (no ``--as``)."""

TOLERANCE = 0.15
"""The measured ceiling agrees with k / D when within 15 % of it."""
KEPT_UP = 0.9
"""A step was kept up with when at least 90 % of its offered rate completed per second."""
CLIENT_LAG_MAX = 0.01
"""A step where more than 1 % of the sends left late measured the client too: it cannot judge."""


def ceiling_rps(capacity: int | None, delay_s: float) -> float:
    """k / D; unbounded servers have none (``inf``)."""
    return math.inf if capacity is None else capacity / delay_s


def predicted_rps(offered_rps: float, capacity: int | None, delay_s: float) -> float:
    return min(offered_rps, ceiling_rps(capacity, delay_s))


def erlang_c(k: int, a: float) -> float:
    """The probability that an arrival waits in M/M/k with offered load a = λ / μ < k."""
    term, total = 1.0, 1.0
    for i in range(1, k):
        term *= a / i
        total += term
    last = term * a / k * k / (k - a)
    return last / (total + last)


def predicted_latency_s(offered_rps: float, capacity: int | None, delay_s: float, *, poisson: bool,
                        duration_s: float) -> float:  # fmt: skip
    """The model's latency for a request in the middle of the step."""
    ceiling = ceiling_rps(capacity, delay_s)
    if offered_rps >= ceiling:
        return delay_s + (offered_rps / ceiling - 1) * duration_s / 2
    if not poisson or capacity is None:
        return delay_s
    a = offered_rps * delay_s
    wq_mmk = erlang_c(capacity, a) / (capacity / delay_s - offered_rps)
    return delay_s + wq_mmk / 2


@dataclass(frozen=True)
class CeilingResult:
    server: str
    declared: int | None
    predicted_rps: float
    """k / D, or ``inf`` for an unbounded server."""
    measured_rps: float | None
    """The highest throughput a step achieved (client not lagging)."""
    verdict: Verdict
    reason: str


def _measured(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def assess(server: str, declared: int | None, delay_s: float, steps: list[dict[str, Any]]) -> CeilingResult:
    """The verdict for one server from its steps (``offered_rps``, ``achieved_rps``, ``client_lagged``)."""
    ceiling = ceiling_rps(declared, delay_s)
    usable = [s for s in steps if not s.get("client_lagged") and _measured(s.get("achieved_rps"))]
    measured = max((float(s["achieved_rps"]) for s in usable), default=None)

    def result(verdict: Verdict, reason: str) -> CeilingResult:
        return CeilingResult(server, declared, ceiling, measured, verdict, reason)

    if not usable:
        return result("inconclusive", "no step measured without the client lagging")
    lagged = len(steps) - len(usable)
    note = f" ({lagged} step(s) left out: the client lagged)" if lagged else ""
    if math.isinf(ceiling):
        behind = [s for s in usable if float(s["achieved_rps"]) < KEPT_UP * float(s["offered_rps"])]
        if behind:
            s = behind[0]
            return result("disagrees", f"declared unbounded, but at {s['offered_rps']:g}/s only "
                          f"{s['achieved_rps']:.1f}/s completed{note}")  # fmt: skip
        return result(
            "consistent", f"kept up with every step up to {max(float(s['offered_rps']) for s in usable):g}/s{note}"
        )
    above = [s for s in usable if float(s["offered_rps"]) > ceiling * (1 + TOLERANCE)]
    assert measured is not None
    if abs(measured - ceiling) <= TOLERANCE * ceiling:
        if not above:
            return result("inconclusive", f"{measured:.1f}/s at most, but no step offered more than k / D "
                          f"= {ceiling:g}/s + {TOLERANCE:.0%}, so the ceiling was not reached{note}")  # fmt: skip
        return result(
            "consistent", f"tops out at {measured:.1f}/s, within {TOLERANCE:.0%} of k / D = {ceiling:g}/s{note}"
        )
    if measured < ceiling * (1 - TOLERANCE) and not above:
        return result("inconclusive", f"{measured:.1f}/s at most; the ladder stops below k / D = {ceiling:g}/s{note}")
    return result("disagrees", f"tops out at {measured:.1f}/s, not k / D = {ceiling:g}/s (+-{TOLERANCE:.0%}){note}")
