"""How a handler spends D: waiting (the article) or computing (beyond it).

``HARNESS_WORK=wait`` holds the request with a sleep; ``cpu`` runs ``spin`` for
``HARNESS_CPU_ITERATIONS`` rounds, a count the harness calibrates once per run
(``python work.py --calibrate D``) so that one call takes about D on one core.
The Go server runs the same loop (``go/server``), calibrated the same way.
Calibrating in the harness, not in each server, keeps five gunicorn workers from
calibrating against each other on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

WORK = os.environ.get("HARNESS_WORK", "wait")
DELAY_S = float(os.environ.get("HARNESS_DELAY_S", "1"))
CPU_ITERATIONS = int(os.environ.get("HARNESS_CPU_ITERATIONS", "0"))
CALIBRATION_MIN_S = 0.2
CALIBRATION_WARMUP_S = 0.5


def spin(rounds: int) -> int:
    """A linear congruential generator: pure CPU, no memory traffic, no allocation."""
    x = 1
    for _ in range(rounds):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def hold() -> None:
    """Hold the request for D in a plain ``def`` handler: sleep, or compute."""
    if WORK == "cpu":
        spin(CPU_ITERATIONS)
    else:
        time.sleep(DELAY_S)


async def hold_async() -> None:
    """Hold the request for D in an ``async def`` handler that awaits its wait.

    CPU work cannot be awaited: computing in a coroutine blocks the event loop,
    which is exactly what the comparison shows.
    """
    if WORK == "cpu":
        spin(CPU_ITERATIONS)
    else:
        await asyncio.sleep(DELAY_S)


def _median_of(rounds: int, times: int) -> float:
    took = []
    for _ in range(times):
        start = time.perf_counter()
        spin(rounds)
        took.append(time.perf_counter() - start)
    return sorted(took)[len(took) // 2]


def calibrate(delay_s: float) -> dict[str, float | int]:
    """Rounds of ``spin`` that take ``delay_s`` on one core, and the time one call took.

    The core is warmed up first (measured here: the first half second runs ~20 %
    faster, then the clock settles), then a first estimate, then up to three
    corrections from the median of three calls of the full length, until one call
    is within 3 % of ``delay_s``.
    """
    warm_until = time.perf_counter() + CALIBRATION_WARMUP_S
    while time.perf_counter() < warm_until:
        spin(10_000)
    rounds = 1000
    while (took := _median_of(rounds, 1)) < CALIBRATION_MIN_S:
        rounds *= 2
    iterations = max(1, round(rounds * delay_s / took))
    for _ in range(3):
        took = _median_of(iterations, 3)
        if abs(took - delay_s) <= 0.03 * delay_s:
            break
        iterations = max(1, round(iterations * delay_s / took))
    return {"iterations": iterations, "seconds": _median_of(iterations, 3)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="calibrate the CPU work")
    parser.add_argument("--calibrate", type=float, required=True, metavar="D")
    print(json.dumps(calibrate(parser.parse_args().calibrate)))
