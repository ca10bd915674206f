import math

import pandas as pd
import pytest

from harness.catalog import CATALOG, CLIENTS
from harness.claims import CLAIMS, Context, bands, behaviour, check, not_checked

CONCURRENT = {
    "go-nethttp": (1, 5),
    "fastapi-async": (1, 1),
    "fastapi-def": (1, 5),
    "django-runserver": (1, 5),
    "gunicorn-threads5": (1, 5),
    "gunicorn-workers5": (5, 5),
}
SERIAL = ("fastapi-async-blocking", "django-nothreading", "gunicorn-default")
DJANGO = ("django-runserver", "django-nothreading", "gunicorn-default", "gunicorn-threads5", "gunicorn-workers5")
HANDLERS = {s: {"views.process_request"} for s in DJANGO}
WAIT = Context(5, 2, "wait", CATALOG)
CPU = Context(5, 2, "cpu", CATALOG)


def row(server: str, client: str, ratio: float, in_flight: int, processes: int = 1, threads: int = 1,
        status: str = "ok") -> dict:  # fmt: skip
    return {
        "server": server,
        "client": client,
        "status": status,
        "ratio_median": ratio,
        "max_in_flight": in_flight,
        "processes": processes,
        "threads": threads,
        "client_concurrent": client != "httpx-sequential",
    }


def article_frame(**overrides: tuple) -> pd.DataFrame:
    """Every pairing behaving as the article says; ``overrides`` replace (server, client) rows."""
    rows = {}
    for client in (c.name for c in CLIENTS):
        for server, (procs, threads) in CONCURRENT.items():
            rows[(server, client)] = (
                row(server, client, 1.02, 5, procs, threads)
                if client != "httpx-sequential"
                else row(server, client, 5.05, 1)
            )
        for server in SERIAL:
            rows[(server, client)] = row(server, client, 5.05, 1)
    for key, value in overrides.items():
        server, client = key.split("|")
        rows[(server, client)] = row(server, client, *value)
    return pd.DataFrame(rows.values())


def verdicts(frame: pd.DataFrame, ctx: Context = WAIT, handlers: dict = HANDLERS) -> dict[str, str]:
    return {c.id: c.verdict for c in check(frame, handlers, ctx)}


def test_claims_name_catalog_servers() -> None:
    ids = [c.id for c in CLAIMS]
    assert ids[:11] == [f"C{i}" for i in range(1, 12)]
    assert ids[11:] == [f"X{i}" for i in range(1, len(ids) - 10)]
    for claim in CLAIMS:
        assert all(s in CATALOG.servers_by_name for s in claim.servers), claim.id
        assert claim.article == claim.id.startswith("C")


def test_article_behaviour_confirms_every_claim() -> None:
    result = verdicts(article_frame())
    assert list(result) == [f"C{i}" for i in range(1, 12)]  # X claims need servers this run did not start
    assert set(result.values()) == {"confirmed"}


def test_serial_where_concurrent_expected_is_refuted() -> None:
    result = verdicts(article_frame(**{"gunicorn-threads5|httpx-async": (5.0, 1)}))
    assert result["C9"] == "refuted"
    assert result["C11"] == "refuted"
    assert result["C1"] == "confirmed"


def test_in_between_is_inconclusive() -> None:
    assert verdicts(article_frame(**{"go-nethttp|go-goroutines": (2.5, 2)}))["C1"] == "inconclusive"


def test_failed_pairing_is_inconclusive() -> None:
    result = verdicts(article_frame(**{"gunicorn-default|go-goroutines": (float("nan"), 0, 0, 0, "failed")}))
    assert result["C8"] == "inconclusive"
    assert result["C11"] == "inconclusive"


def test_wrong_evidence_refutes() -> None:
    # concurrent, but by one process: the article says -w 5 means five processes
    assert verdicts(article_frame(**{"gunicorn-workers5|go-goroutines": (1.02, 5, 1, 5)}))["C10"] == "refuted"


def test_sequential_client_does_not_count_for_server_claims() -> None:
    assert verdicts(article_frame(**{"go-nethttp|httpx-sequential": (5.0, 1)}))["C1"] == "confirmed"


def test_missing_server_is_inconclusive() -> None:
    frame = article_frame()
    result = check(frame[frame["server"] != "fastapi-def"], HANDLERS, WAIT)
    c4 = next(c for c in result if c.id == "C4")
    assert (c4.verdict, c4.measured) == ("inconclusive", "not measured: run with --servers fastapi-def")


def test_two_handlers_refute_c11() -> None:
    handlers = {**HANDLERS, "gunicorn-default": {"other.view"}}
    assert verdicts(article_frame(), handlers=handlers)["C11"] == "refuted"


@pytest.mark.parametrize("n", [1, 10])
def test_claims_are_about_five_clients(n: int) -> None:
    assert set(verdicts(article_frame(), ctx=Context(n, 2, "wait", CATALOG)).values()) == {"inconclusive"}


def test_bands_follow_cores_and_work() -> None:
    wait = bands(5, 2, "wait")
    assert (wait["concurrent"].high, wait["serial"].low) == (1.5, 4.5)
    cpu = bands(5, 2, "cpu")
    assert (cpu["parallel"].low, cpu["parallel"].high) == (pytest.approx(1.5), 3.75)  # 2.5 x D expected
    assert (cpu["interleaved"].low, cpu["interleaved"].in_flight) == (4.0, 5)
    assert cpu["parallel"].high < cpu["interleaved"].low  # the bands never overlap on 2 cores
    assert bands(5, 8, "cpu")["parallel"].high == 1.75  # more cores than clients: all at once
    bounded = bands(5, 2, "wait", capacity=2)["bounded"]
    assert (bounded.low, bounded.high, bounded.in_flight) == (2.5, 3.5, 2)
    assert math.isinf(cpu["serial"].high)


def cpu_frame() -> pd.DataFrame:
    """CPU work on 2 cores as the claims expect it."""
    rows = []
    for client in ("go-goroutines", "httpx-async"):
        rows += [
            row("fastapi-def", client, 5.2, 5, 1, 5),
            row("django-runserver", client, 5.3, 5, 1, 5),
            row("gunicorn-threads5", client, 5.1, 5, 1, 5),
            row("fastapi-async", client, 5.0, 1, 1, 1),
            row("django-asgi-async", client, 5.0, 1, 1, 1),
            row("gunicorn-workers5", client, 2.6, 5, 5, 5),
            row("uvicorn-workers5", client, 2.9, 5, 4, 4),
            row("gunicorn-uvicorn5", client, 2.7, 5, 5, 5),
            row("go-nethttp", client, 2.5, 5, 1, 5),
            row("go-bounded", client, 3.0, 2, 1, 5),
        ]
    return pd.DataFrame(rows)


def test_cpu_claims_confirmed() -> None:
    result = verdicts(cpu_frame(), ctx=CPU)
    assert result == {f"X{i}": "confirmed" for i in range(1, 7)}  # only CPU claims apply to a CPU run


def test_threads_in_parallel_refute_the_gil_claim() -> None:
    frame = cpu_frame()
    frame.loc[frame["server"] == "fastapi-def", "ratio_median"] = 2.6
    assert verdicts(frame, ctx=CPU)["X1"] == "refuted"


def test_cpu_behaviour_names() -> None:
    assert behaviour(row("go-nethttp", "x", 2.5, 5), CPU) == "parallel"
    assert behaviour(row("go-nethttp", "x", 5.0, 5), CPU) == "interleaved"
    assert behaviour(row("go-nethttp", "x", 5.0, 1), CPU) == "serial"
    assert behaviour(row("go-nethttp", "x", 3.9, 5), CPU) == "in between"
    assert behaviour(row("go-nethttp", "x", 1.0, 5), WAIT) == "concurrent"


def test_unchecked_claims_say_how_to_check_them() -> None:
    assert not_checked("wait", set(CONCURRENT) | set(SERIAL)) == [f"X{i}" for i in range(1, 11)]
    assert not_checked("cpu", {"go-nethttp"}) == [f"C{i}" for i in range(1, 12)] + ["X1", "X2", "X3", "X4", "X6"] + [
        f"X{i}" for i in range(7, 11)
    ]


def test_cpu_bands_scale_with_the_calibrated_call() -> None:
    # calibration came out short: one Python call took 0.7 D, one Go call 1.0 D
    ctx = Context(5, 2, "cpu", CATALOG, call_s={"python": 0.21, "go": 0.3}, delay_s=0.3)
    assert ctx.bands_for("fastapi-async")["serial"].low == pytest.approx(0.8 * 5 * 0.7)
    assert ctx.bands_for("go-nethttp")["parallel"].high == pytest.approx(3.75)
    frame = cpu_frame()
    frame.loc[frame["server"] == "fastapi-async", "ratio_median"] = 2.94  # five calls of 0.7 D, back to back
    assert verdicts(frame, ctx=CPU)["X2"] != "confirmed"  # read against D, it looks too fast to be serial
    assert verdicts(frame, ctx=ctx)["X2"] == "confirmed"


def test_solo_calls_are_requests_that_ran_alone() -> None:
    from harness.model import Pairing
    from harness.stats import solo_call_s
    from tests.helpers import batch, concurrent_requests, serial_requests

    serial = Pairing(
        "fastapi-async", "go-goroutines", "ok", "", [batch("fastapi-async", "x", 1, 5.0, serial_requests(d_ms=200))]
    )
    together = Pairing(
        "fastapi-def", "go-goroutines", "ok", "", [batch("fastapi-def", "x", 1, 5.0, concurrent_requests(d_ms=900))]
    )
    warmup = Pairing("go-nethttp", "x", "ok", "", [batch("go-nethttp", "x", 0, 1.0, serial_requests(d_ms=50))])
    solo = solo_call_s([serial, together, warmup], lambda name: name.startswith("go"))
    assert solo == {"python": pytest.approx(0.2)}  # overlapping requests and warm-ups do not count
    ctx = Context.of({"clients": 5, "work": "cpu", "delay_s": 0.3, "calibration": {"python_call_s": 0.514}},
                     {"cores": 2}, CATALOG, solo)  # fmt: skip
    assert ctx.scale("fastapi-def") == pytest.approx(0.2 / 0.3)  # the run's own calls beat the calibration
    assert ctx.scale("go-nethttp") == pytest.approx(1.0)  # no solo Go call, no Go calibration: D
