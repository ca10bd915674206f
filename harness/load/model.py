"""What a server that holds k requests of D seconds each can do under an arrival rate λ.

Each request costs the server D plus its own per-request cost c (accepting, parsing,
answering: measured as the server's CPU seconds per request below the ceiling), so a
slot serves one request every S = D + c seconds and the ceiling is ``k / S``
(gunicorn's sync worker: 19.2/s at D = 0.05, not 20). Below the ceiling a request waits
for nothing (constant arrivals) and its latency is S. Above it the queue grows by
``λ - μ`` requests per second (μ the rate it drains at), and it has already grown for the
warm-up W (sent at the same rate just before the counted window), so a request arriving
t seconds into the window waits ``(λ / μ - 1) (W + t)``; the median request arrives at
t = T / 2. For a bounded server μ = k / S, predicted from figures below the ceiling.

An unbounded server (an event loop: every connection accepted, every request started)
has no slots: its ceiling is where its cores give out. Its CPU use grows with λ as a
fixed per-second cost (the loop's own wake-ups, shared by more requests as λ grows) plus
a cost per request, so c measured at one rate overstates the cost at a higher one; the
ceiling is where the line through the CPU use of its fastest step kept up with and one
at least 20 % slower reaches the server's cores (``cpu_ceiling_rps``; ``cores / c``
without such a pair). Past it the loop is still one FIFO queue, not processor sharing:
the kernel's accept queue and the loop's ready queue run callbacks in arrival order, and
a request's CPU work (its parsing, then its ``sleep(D)`` timer callback and its answer)
waits behind the work queued ahead of it, which is why the timers fire late. So its
median is the same ``S + (λ / μ - 1)(W + T / 2)``, but μ is the rate the loop drained at
that step, measured (its achieved throughput; the CPU line's where the client lagged): a
check of the queue's shape given the drain rate, not a prediction of it. It cannot be one
within 15 %: just past the ceiling λ / μ - 1 is a few per cent, so 1 % of error in μ moves the median by
(W + T / 2) λ / μ / 100 (35 ms at W = 1, T = 5); the loop's throughput falls as its queue
grows (each request in flight holds its own HTTP/1.1 connection, so the client dials
more, and a new connection costs the server more CPU than a warm one); and that feedback
makes the onset random (a loop can keep up for seconds above its ceiling, then collapse).

With Poisson arrivals a queue forms below the ceiling too: M/D/k's mean wait by
Cosmetatos's correction of M/M/k's, with Erlang's C computed through the stable Erlang
B recursion (k = 1000 works).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["consistent", "disagrees", "inconclusive", "not checked"]
"""``not checked``: a ``--target`` that declares no capacity (no ``--as``)."""
LimitedBy = Literal["server", "client", ""]

TOLERANCE = 0.15
"""The measured ceiling agrees with k / D when within 15 % of it."""
KEPT_UP = 0.9
"""A step was kept up with when at least 90 % of its offered rate completed per second."""
CLIENT_LAG_MAX = 0.01
"""A step where more than 1 % of the sends left late measured the client too: it cannot judge."""
CLIENT_SHARE = 0.8
"""A ceiling at or above 80 % of the client's own on-time limit is the client's, not the server's."""
CPU_SPREAD = 0.2
"""The two steps a CPU line runs through are at least 20 % apart in rate: CPU figures carry a few hundredths
of a core of noise, and over a shorter span the slope would be that noise."""


def ceiling_rps(capacity: int | None, delay_s: float, cost_s: float = 0.0, cores: float | None = None) -> float:
    """k / (D + c); unbounded servers: cores / c when both are known, else none (``inf``)."""
    if capacity is None:
        return cores / cost_s if cores and cost_s > 0 else math.inf
    return capacity / (delay_s + cost_s)


def cpu_ceiling_rps(points: Iterable[tuple[float, float]], cores: float | None) -> float | None:
    """An unbounded server's ceiling: the rate where its CPU use (cores busy) reaches ``cores``, on the line
    through ``points`` (rate, CPU cores) of the fastest step kept up with and the fastest at least
    ``CPU_SPREAD`` below it. CPU use = a fixed per-second cost + c λ; ``None`` without two such steps or with
    a line that does not rise (then ``cores / c``)."""
    if not cores:
        return None
    ordered = sorted(((r, u) for r, u in points if _measured(r) and _measured(u) and r > 0), reverse=True)
    if not ordered:
        return None
    top_rate, top_cpu = ordered[0]
    below = next(((r, u) for r, u in ordered if r <= (1 - CPU_SPREAD) * top_rate), None)
    if below is None or top_cpu <= below[1]:
        return None
    slope = (top_cpu - below[1]) / (top_rate - below[0])  # CPU seconds per request at the margin
    return top_rate + (cores - top_cpu) / slope


def predicted_rps(offered_rps: float, capacity: int | None, delay_s: float, cost_s: float = 0.0,
                  cores: float | None = None) -> float:  # fmt: skip
    return min(offered_rps, ceiling_rps(capacity, delay_s, cost_s, cores))


def erlang_b(k: int, a: float) -> float:
    """Erlang's B (blocking in M/M/k/k) by the recursion B(i) = a B(i-1) / (i + a B(i-1)): no factorials,
    no overflow at k = 1000."""
    b = 1.0
    for i in range(1, k + 1):
        b = a * b / (i + a * b)
    return b


def erlang_c(k: int, a: float) -> float:
    """The probability that an arrival waits in M/M/k with offered load a = λ / μ (1 when a >= k)."""
    if a >= k:
        return 1.0
    b = erlang_b(k, a)
    return k * b / (k - a * (1 - b))


def wait_mdk_s(k: int, a: float, service_s: float) -> float:
    """Mean wait in M/D/k: Cosmetatos (1975), Wq(M/M/k) (1 + f) / 2 with
    f = (1 - ρ)(k - 1)(sqrt(4 + 5k) - 2) / (16 ρ k); exact for k = 1."""
    if a <= 0:
        return 0.0
    if a >= k:
        return math.inf
    rho = a / k
    wq_mmk = erlang_c(k, a) * service_s / (k - a)
    f = (1 - rho) * (k - 1) * (math.sqrt(4 + 5 * k) - 2) / (16 * rho * k)
    return wq_mmk * (1 + f) / 2


def predicted_latency_s(offered_rps: float, capacity: int | None, delay_s: float, *, poisson: bool,
                        duration_s: float, warmup_s: float = 0.0, cost_s: float = 0.0,
                        cores: float | None = None, timeout_s: float = math.inf,
                        drain_rps: float | None = None) -> float:  # fmt: skip
    """The model's median latency of the counted window (from the intended send time); at most the
    client's request timeout, where a request that waited longer counts (failed). ``drain_rps``: the rate
    the server drained at this step, measured (an unbounded server's loop), in place of the ceiling."""
    service = delay_s + cost_s
    ceiling = drain_rps if drain_rps is not None and drain_rps > 0 else ceiling_rps(capacity, delay_s, cost_s, cores)
    if offered_rps >= ceiling:
        return min(service + (offered_rps / ceiling - 1) * (warmup_s + duration_s / 2), timeout_s)
    if not poisson or capacity is None:
        return service
    return service + wait_mdk_s(capacity, offered_rps * service, service)


LATENCY_LEFT = 2.0
"""A step whose median latency is above twice the service time has left D: the server is behind."""


@dataclass(frozen=True)
class CeilingResult:
    server: str
    declared: int | None
    predicted_rps: float
    """k / D, or ``inf`` for an unbounded server."""
    measured_rps: float | None
    """The ceiling found: the highest throughput a step achieved (client not lagging)."""
    verdict: Verdict
    reason: str
    model_rps: float | None = None
    """The model's ceiling: k / (D + c), or for an unbounded server where its CPU line reaches its cores
    (``cpu_ceiling_rps``, else cores / c; ``None``: c not measured)."""
    cost_s: float | None = None
    """c: the server's CPU seconds per request, measured below the ceiling."""
    limited_by: LimitedBy = ""
    """``client`` when the ceiling found is the load client's (it lagged, or >= 80 % of its limit)."""
    client_limit_rps: float | None = None
    """The load client's on-time limit measured in this run against go-nethttp (``None``: not measured)."""
    gave_out: str = ""
    """What gave out at the first step that was not kept up with."""


def _measured(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and _measured(value) else None


def kept_up(row: dict[str, Any], service_s: float) -> bool:
    """Achieved followed offered (90 %) and the median stayed near the service time."""
    achieved, p50 = _num(row.get("achieved_rps")), _num(row.get("p50_s"))
    if achieved is None or achieved < KEPT_UP * float(row["offered_rps"]):
        return False
    return p50 is None or p50 <= LATENCY_LEFT * service_s


def gave_out(row: dict[str, Any], cores: float | None, capacity: int | None = None) -> tuple[LimitedBy, str]:
    """Who gave out at a step that was not kept up with, from the client's and the handlers' own figures."""
    if row.get("client_lagged"):
        return "client", f"the client (late sends: {row.get('late_sends')})"
    client_cpu, server_cpu = _num(row.get("client_cpu_cores")), _num(row.get("server_cpu_cores"))
    if client_cpu is not None and client_cpu >= 0.9:
        return "client", f"the client's CPU ({client_cpu:.2f} cores)"
    if server_cpu is not None and cores and server_cpu >= 0.8 * cores:
        return "server", f"the server's CPU ({server_cpu:.2f} of {cores:g} cores)"
    if capacity is not None:
        return "server", f"the server's {capacity} slot(s): requests queue"
    if server_cpu is not None:
        return "server", f"the server (latency left D at {server_cpu:.2f} cores: its loop or workers lag)"
    return "server", "the server (latency left D)"


def assess(server: str, declared: int | None, delay_s: float, steps: list[dict[str, Any]], *,
           cost_s: float | None = None, cores: float | None = None,
           client_limit_rps: float | None = None, client_limit_reached: bool = True,
           model_rps: float | None = None) -> CeilingResult:  # fmt: skip
    """The verdict for one server from its steps (``offered_rps``, ``achieved_rps``, ``client_lagged``);
    ``model_rps``: an unbounded server's CPU ceiling (``cpu_ceiling_rps``) in place of cores / c."""
    ceiling = ceiling_rps(declared, delay_s)
    model = ceiling_rps(declared, delay_s, cost_s or 0.0, cores) if cost_s is not None or declared else None
    if declared is None and model_rps is not None:
        model = model_rps
    usable = [s for s in steps if not s.get("client_lagged") and _measured(s.get("achieved_rps"))]
    measured = max((float(s["achieved_rps"]) for s in usable), default=None)
    service = delay_s + (cost_s or 0.0)
    behind = sorted((s for s in steps if not kept_up(s, service)), key=lambda s: float(s["offered_rps"]))
    on_time = [s for s in behind if not s.get("client_lagged")]  # what gave out where the client kept time

    def own_lag(s: dict[str, Any]) -> bool:
        """A lag is the client's own only near its on-time limit: far below it, the server's backlog made it
        (each waiting request holds a connection, so the client opens new ones)."""
        return client_limit_rps is None or float(s["offered_rps"]) >= CLIENT_SHARE * client_limit_rps

    who, what = gave_out((on_time or behind)[0], cores, declared) if behind else ("", "")
    if behind and not on_time and not own_lag(behind[0]):
        first = behind[0]
        who, what = gave_out({**first, "client_lagged": False}, cores, declared)
        what += (f" (the client lagged at {float(first['offered_rps']):g}/s, below {CLIENT_SHARE:.0%} of its "
                 f"on-time limit: the server's backlog held its connections)")  # fmt: skip
    top_usable = max((float(s["offered_rps"]) for s in usable), default=0.0)
    # the server never gave out at a step the client sent on time, and a faster one lagged near the client's
    # own limit: the client's ceiling
    client_stopped = not on_time and any(s.get("client_lagged") and own_lag(s) for s in steps)
    near_limit = (measured is not None and client_limit_rps is not None and client_limit_reached
                  and measured >= CLIENT_SHARE * client_limit_rps)  # fmt: skip
    limited: LimitedBy = "client" if client_stopped or near_limit else "server" if measured is not None else ""
    if limited == "client" and who != "client":
        who, what = "client", what or "the client (its on-time limit)"

    def result(verdict: Verdict, reason: str) -> CeilingResult:
        if limited == "client" and measured is not None:
            limit = f"; the client's on-time limit {client_limit_rps:.0f}/s" if client_limit_rps else ""
            limit = limit if client_limit_reached else limit.replace("limit", "limit at least")
            reason = f"client-limited at {measured:.0f}/s{limit}: {reason}"
        return CeilingResult(server, declared, ceiling, measured, verdict, reason, model, cost_s, limited,
                             client_limit_rps, what)  # fmt: skip

    if not usable:
        return result("inconclusive", "no step measured without the client lagging")
    lagged = len(steps) - len(usable)
    note = f" ({lagged} step(s) left out: the client lagged)" if lagged else ""
    assert measured is not None
    if math.isinf(ceiling):
        if model is not None and not math.isinf(model) and limited == "server" and behind:
            verdict: Verdict = "consistent" if abs(measured - model) <= TOLERANCE * model else "disagrees"
            return result(verdict, f"tops out at {measured:.1f}/s where {what} gave out; the model's "
                          f"{'CPU line' if model_rps is not None else 'cores / c'} = {model:.0f}/s{note}")  # fmt: skip
        late_behind = [s for s in behind if not s.get("client_lagged")]
        if late_behind and limited == "server":
            s = late_behind[0]
            return result("disagrees", f"declared unbounded, but at {s['offered_rps']:g}/s only "
                          f"{s['achieved_rps'] or 0:.1f}/s completed{note}")  # fmt: skip
        return result("consistent" if limited != "client" else "inconclusive",
                      f"kept up with every step up to {top_usable:g}/s{note}")  # fmt: skip
    above = [s for s in usable if float(s["offered_rps"]) > ceiling * (1 + TOLERANCE)]
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
