"""The capacity model: declared k (the catalog) against measured k (the sweep).

A server that holds k requests at once serves N requests of D each in waves of k,
so its batch takes ``ceil(N / k) x D``; an unbounded one takes ``1 x D`` at any N.

Measured k is read off the sweep, never fitted: the largest N of the server's
ladder such that it and every smaller N was served *at once*, i.e. with a wall time
of at most ``AT_ONCE_MAX_RATIO`` x D, all N requests in flight on the server
together, and no failed request. The ladder holds k and k+1 of every bounded
server (``sweep.ladder_for``), so a k-wide server measures exactly k.

Verdicts: ``consistent`` for a bounded server (declared k, serial ones too) when
measured k is the declared k and the next N of the ladder (k+1) *fits the model*:
at most k requests in flight on the server, a wall time within ``WAVES_SLACK`` x D
of the predicted ``ceil(N / k)`` x D (2 x D at k+1), status ok and no failed
request. Merely "not served at once" is not enough: k+1 requests all in flight at
1.6 x D, or one failed request, break the model. For an unbounded server,
``consistent`` when every N of the ladder was served at once (so a failed request
or an over-budget point anywhere breaks it). ``disagrees`` when the measurements
say otherwise, with the measured cause at the first N not served at once (or at
the N that broke the model); ``inconclusive`` when the ladder cannot tell (it stops
below k+1, the points that would tell were not run or failed to run, or N = k+1 ran
out of a budget shorter than its waves may take).

A server that declares a small accept backlog (``ServerSpec.backlog``, runserver's 10)
and no limit: past the backlog, a point served at once *or* one SYN resend late
(``syn_staircase``: D + 1, 3 or 7 s, the kernel counting resends) fits the model.

The sweep measures a miss (the first N not served at once) a second time before it
decides (``runner.sweep_server``); the re-measure is the point judged, and the reason
says a re-measure happened and what the first batch showed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from harness.core.frames import Row, number
from harness.core.thresholds import CONCURRENT_MAX_RATIO

AT_ONCE_MAX_RATIO = CONCURRENT_MAX_RATIO
"""At most this x D counts as "about 1 x D" (the compare report's threshold)."""
LATE_NOTE_D = 0.25
"""A request that reached its handler this many D after the batch started waited somewhere."""
HOLD_NOTE_D = 1.1
"""A handler that held its request this many D was not resumed on time."""
WAVES_SLACK = 0.5
"""Past k, a measured wall time within this many D of ``ceil(N / k)`` x D fits the
model: at k+1 that is 1.5 .. 2.5 x D, the compare report's bounded band (its slack
is 0.5 too). Below 1.5 x D the extra request did not wait for a wave; above 2.5 x D
the requests waited for more than one."""

SYN_RESEND_S = (1.0, 3.0, 7.0)
"""When a SYN is dropped (a full accept queue) Linux resends it after 1 s, then 2 s, then
4 s more: a connection that lost its SYN reaches the server 1, 3 or 7 s late."""


def syn_staircase(row: Row, backlog: int | None) -> bool:
    """Whether a point past a declared accept backlog fits its SYN-resend staircase: status
    ok, no failed request, N above the backlog, the kernel counted a SYN resend or an
    accept-queue overflow, and a wall time of D plus one of ``SYN_RESEND_S`` (within
    ``WAVES_SLACK`` x D): the requests that found the queue full were served one resend later."""
    ratio, delay = number(row.get("ratio")), number(row.get("delay_s"))
    resends = (number(row.get("syn_retrans")) or 0) + (number(row.get("listen_overflows")) or 0)
    if backlog is None or ratio is None or not delay or int(row["clients"]) <= backlog:
        return False
    if row.get("status") != "ok" or number(row.get("failed")) != 0 or not resends:
        return False
    wall = ratio * delay
    return any(abs(wall - (delay + step)) <= WAVES_SLACK * delay for step in SYN_RESEND_S)


Verdict = Literal["consistent", "disagrees", "inconclusive", "not checked"]
"""``not checked``: a ``--target`` that declares no capacity (no ``--as``) or gives no evidence fields."""

GROUPS = {
    "unbounded": "declared unbounded",
    "bounded": "declared k > 1",
    "serial": "declared k = 1 (serial)",
    "undeclared": "capacity not declared (a --target without --as)",
}
"""Servers are charted together by the kind of capacity they declare."""


def capacity_group(k: int | None, *, declared: bool = True) -> str:
    if not declared:
        return "undeclared"
    if k is None:
        return "unbounded"
    return "serial" if k == 1 else "bounded"


@dataclass(frozen=True)
class CapacityResult:
    server: str
    declared: int | None
    """``None``: unbounded."""
    declared_reason: str
    measured: int | None
    """Largest N served at once; ``None`` when no point was measured."""
    measured_at_least: bool
    """The top of the ladder was served at once: the true k may be larger."""
    verdict: Verdict
    reason: str

    @property
    def declared_text(self) -> str:
        if self.declared is None and not self.declared_reason and self.verdict == "not checked":
            return "-"  # a --target without --as: nothing declared
        return "unbounded" if self.declared is None else str(self.declared)

    @property
    def measured_text(self) -> str:
        if self.measured is None and self.verdict == "not checked":
            return "-"
        if self.measured is None:
            return "not measured"
        return f">= {self.measured}" if self.measured_at_least else str(self.measured)


def predicted_ratio(n: int, k: int | None) -> float:
    """Wall time / D for N requests at once on a server that holds k at a time."""
    return 1.0 if k is None else float(math.ceil(n / k))


def served_at_once(row: Row) -> bool:
    """Whether a point was served at about 1 x D with all of its N in flight."""
    ratio = number(row.get("ratio"))
    return (
        row.get("status") == "ok"
        and ratio is not None
        and ratio <= AT_ONCE_MAX_RATIO
        and number(row.get("max_in_flight")) == row["clients"]
        and not number(row.get("failed"))
    )


def fits_model(row: Row, k: int) -> bool:
    """Whether a point past k looks like waves of k: status ok, no failed request, at
    most k in flight, and a wall time within ``WAVES_SLACK`` x D of ``ceil(N / k)`` x D."""
    ratio = number(row.get("ratio"))
    in_flight = number(row.get("max_in_flight"))
    return (
        row.get("status") == "ok"
        and number(row.get("failed")) == 0
        and in_flight is not None
        and in_flight <= k
        and ratio is not None
        and abs(ratio - predicted_ratio(int(row["clients"]), k)) <= WAVES_SLACK
    )


def budget_too_short(row: Row, k: int) -> bool:
    """An over-budget point whose budget was below what waves of k may take (the
    model's ratio plus ``WAVES_SLACK``): running out of it says nothing against k."""
    budget, delay = number(row.get("budget_s")), number(row.get("delay_s"))
    if row.get("status") != "over budget" or budget is None or not delay:
        return False
    return budget / delay < predicted_ratio(int(row["clients"]), k) + WAVES_SLACK


def explain(row: Row, k: int | None = None) -> str:
    """What the records say about a point that was not served at once (or, with a
    declared ``k``, that breaks the model: more than k in flight, a ratio off it)."""
    n = int(row["clients"])
    if row.get("status") in ("failed", "not run") or number(row.get("ratio")) is None:
        return f"N={n}: {row.get('status')} ({row.get('reason') or 'no batch'})"
    predicted = float(row["predicted_ratio"]) if k is None else predicted_ratio(n, k)
    ratio_text = f"{row['ratio']:.2f}x (predicted {predicted:g}x)"
    if k is not None and abs(float(row["ratio"]) - predicted) > WAVES_SLACK:
        ratio_text = f"{row['ratio']:.2f}x, off the predicted {predicted:g}x by more than {WAVES_SLACK:g} x D"
    parts = [ratio_text]
    if row.get("status") == "over budget":
        parts.append("over budget")
    if (failed := number(row.get("failed"))) and failed > 0:
        parts.append(f"{int(failed)} of {n} failed ({row.get('first_error') or 'no detail'})")
    in_flight = number(row.get("max_in_flight"))
    if k is not None and in_flight is not None and in_flight > k:
        parts.append(f"{int(in_flight)} in flight, more than the declared {k}")
    elif in_flight is not None and in_flight < n:
        parts.append(f"at most {int(in_flight)} in flight")
    late_or_slow = False
    if (late := number(row.get("late_max_d"))) is not None and late >= LATE_NOTE_D:
        parts.append(f"the last request reached its handler {late:.2f} x D after the batch started")
        late_or_slow = True
    if (hold := number(row.get("hold_max_d"))) is not None and hold >= HOLD_NOTE_D:
        parts.append(f"a handler held its request {hold:.2f} x D (not resumed on time)")
        late_or_slow = True
    cpu = number(row.get("server_cpu_s"))
    busy = number(row.get("machine_busy"))
    if late_or_slow and in_flight == n and cpu is not None and busy is not None:
        parts.append(f"the server's processes used {cpu:.2f} s of CPU, the machine's cores were {busy:.0%} busy")
    overflows = number(row.get("listen_overflows")) or 0
    retrans = number(row.get("syn_retrans")) or 0
    if overflows or retrans:
        parts.append(
            f"the kernel counted {int(overflows)} accept-queue overflows and {int(retrans)} SYN resends "
            "(a dropped SYN is resent after 1 s)"
        )
    return f"N={n}: " + ", ".join(parts)


def assess(
    server: str, declared: int | None, declared_reason: str, points: pd.DataFrame, backlog: int | None = None
) -> CapacityResult:
    """Measured k and the verdict for one server, from its counted points (``backlog``: its
    declared accept backlog, past which the SYN-resend staircase fits the model too)."""
    rows = [r for _, r in points.sort_values("clients").iterrows()]
    measured: int | None = None
    miss: Row | None = None
    stopped: Row | None = None
    stairs: list[Row] = []
    for row in rows:
        if row["status"] in ("not run", "failed"):
            stopped = row
            break
        if served_at_once(row) and not stairs:
            measured = int(row["clients"])
        elif served_at_once(row) or (declared is None and syn_staircase(row, backlog)):
            stairs.append(row)  # past the backlog: at once, or a resend late; no longer "every N at once"
        else:
            miss = row
            break
    again = "; ".join(f"N={int(r['clients'])} {r['remeasured']}" for r in rows if _text(r.get("remeasured")))
    top = int(max((r["clients"] for r in rows), default=0))
    if miss is not None and measured is None:
        measured = 0
    at_least = miss is None and stopped is None and measured == top and measured is not None

    def result(verdict: Verdict, reason: str) -> CapacityResult:
        reason = f"{reason}; {again}" if again else reason
        return CapacityResult(server, declared, declared_reason, measured, at_least, verdict, reason)

    if measured is None:
        return result("inconclusive", explain(stopped) if stopped is not None else "no point was measured")
    if miss is not None:
        why = explain(miss)
        if declared is None:
            return result("disagrees", f"declared unbounded, but not served at once from {why}")
        if measured == declared:
            if fits_model(miss, declared):
                return result("consistent", f"N={measured} at once; {why}")
            if budget_too_short(miss, declared):
                return result(
                    "inconclusive", f"N={measured} at once; {why}: the budget cannot hold waves of {declared}"
                )
            return result(
                "disagrees", f"N={measured} at once, but not waves of {declared} at {explain(miss, declared)}"
            )
        if measured < declared:
            return result("disagrees", f"holds only {measured} at once, not {declared}: {why}")
        return result("disagrees", f"held {measured} at once, more than the declared {declared}; {why}")
    # Every point measured up to here was served at once.
    if stopped is not None:
        return result("inconclusive", f"at once up to N={measured}; then {explain(stopped)}")
    if declared is None and stairs:
        late = ", ".join(f"{r['ratio']:.2f}x at N={int(r['clients'])}" for r in stairs if not served_at_once(r))
        return result("consistent", f"every N up to {measured} at once; past the declared accept backlog of "
                      f"{backlog}, at once or one SYN resend late ({late or 'none late'}: D + 1, 3 or 7 s, "
                      f"the kernel counted resends)")  # fmt: skip
    if declared is None:
        return result("consistent", f"every N up to {top} at once")
    if measured > declared:
        return result("disagrees", f"held {measured} at once, more than the declared {declared}")
    return result("inconclusive", f"at once up to N={measured}; the ladder stops at {top}, below k+1={declared + 1}")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def assess_all(
    points: pd.DataFrame, declared: Mapping[str, tuple[int | None, str]], backlogs: Mapping[str, int] | None = None
) -> list[CapacityResult]:
    """One result per server, in the order the servers appear in ``points``."""
    found = []
    for server in dict.fromkeys(points["server"]):
        k, why = declared[server]
        found.append(assess(server, k, why, points[points["server"] == server], (backlogs or {}).get(server)))
    return found
