import math

import pandas as pd
import pytest

from harness.compare.claims import (
    Context,
    bands,
    behaviour,
    check,
    client_dispatch_s,
    clients_for,
    not_checked,
    servers_for,
)
from harness.core.catalog import CATALOG, Catalog, ServerSpec
from harness.core.claims import CLAIMS, claims_for

CONCURRENT = {
    "go-nethttp": (1, 5),
    "fastapi-async": (1, 1),
    "fastapi-def": (1, 5),
    "django-runserver": (1, 5),
    "gunicorn-threads5": (1, 5),
    "gunicorn-workers5": (5, 5),
}
SERIAL = ("fastapi-async-blocking", "django-nothreading", "gunicorn-default")
ISSUED_CLIENTS = ("go-goroutines", "httpx-async", "httpx-threads", "httpx-sequential")
DJANGO = ("django-runserver", "django-nothreading", "gunicorn-default", "gunicorn-threads5", "gunicorn-workers5")
HANDLERS = {s: {"views.process_request"} for s in DJANGO}
WAIT = Context(5, 2, "wait", CATALOG)
CPU = Context(5, 2, "cpu", CATALOG)


def row(server: str, client: str, ratio: float, in_flight: int, processes: int = 1, threads: int = 1,
        status: str = "ok", parallelism: float = float("nan"), dispatch_s: float = 0.002) -> dict:  # fmt: skip
    return {
        "server": server,
        "client": client,
        "status": status,
        "ratio_median": ratio,
        "max_in_flight": in_flight,
        "processes": processes,
        "threads": threads,
        "parallelism": parallelism,
        "dispatch_s": dispatch_s,
        "client_concurrent": client != "httpx-sequential",
    }


def article_frame(**overrides: tuple) -> pd.DataFrame:
    """Every pairing behaving as the article says; ``overrides`` replace (server, client) rows."""
    rows = {}
    for client in ISSUED_CLIENTS:
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


def test_claims_are_declared_by_catalog_servers() -> None:
    ids = [c.id for c in CLAIMS]
    assert ids[:11] == [f"C{i}" for i in range(1, 12)]
    beyond = [i for i in ids if i.startswith("X")]
    assert beyond == [f"X{i}" for i in range(1, len(beyond) + 1)]  # numbered in order, whatever their number
    for claim in CLAIMS:
        assert claim.article == claim.id.startswith("C")
        assert claim.generic or servers_for(claim, CATALOG), claim.id  # every specific claim has servers
    declared = {i for entry in (*CATALOG.servers, *CATALOG.clients) for i in entry.claims}
    assert declared <= {c.id for c in CLAIMS if not c.generic}


def test_declarations_give_the_articles_servers() -> None:
    assert servers_for("C1", CATALOG) == ("go-nethttp",)
    assert servers_for("C11", CATALOG) == DJANGO
    assert servers_for("X1", CATALOG) == ("fastapi-def", "django-runserver", "gunicorn-threads5")
    assert clients_for("C2", CATALOG) == ("go-goroutines",)
    assert clients_for("C1", CATALOG) is None  # every client that sends at once
    default = {s.name for s in CATALOG.servers if s.default}
    assert not set(servers_for("G1", CATALOG)) & default  # the article's servers have their own claims


def threads10(**kw: object) -> ServerSpec:
    return ServerSpec.model_validate({"name": "gunicorn-threads10", "summary": "gunicorn -w 1 --threads 10",
                                      "command": ["{python}", "-m", "gunicorn", "-b", "fd://{fd}"], **kw})  # fmt: skip


@pytest.mark.parametrize(
    ("capacity", "ratio", "in_flight", "verdict", "label"),
    [
        (10, 1.02, 5, "confirmed", "~1 x D (<= 1.5x), 5 in flight"),
        (10, 5.05, 1, "refuted", "~1 x D"),
        (2, 3.05, 2, "confirmed", "~3 x D (ceil(N / 2)), 2 in flight"),
        (1, 5.05, 1, "confirmed", "~5 x D (>= 4.5x), 1 in flight"),
        (None, 1.02, 5, "confirmed", "~1 x D"),
        (10, 2.5, 3, "inconclusive", "~1 x D"),
    ],
)
def test_a_new_server_gets_the_generic_claim_from_its_capacity(
    capacity: int | None, ratio: float, in_flight: int, verdict: str, label: str
) -> None:
    spec = threads10(capacity=capacity)
    catalog = Catalog((*CATALOG.servers, spec), CATALOG.clients)
    assert claims_for(spec) == ["G1"]
    frame = pd.concat([article_frame(), pd.DataFrame([row(spec.name, "go-goroutines", ratio, in_flight)])])
    result = {c.id: c for c in check(frame, HANDLERS, Context(5, 2, "wait", catalog))}
    assert result["G1"].verdict == verdict, result["G1"]
    assert label in result["G1"].expected and spec.name in result["G1"].expected
    assert {k: v.verdict for k, v in result.items() if k != "G1"} == {f"C{i}": "confirmed" for i in range(1, 12)}


def test_the_generic_claim_holds_at_any_n_and_not_for_declared_servers() -> None:
    spec = threads10(capacity=10)
    catalog = Catalog((*CATALOG.servers, spec), CATALOG.clients)
    frame = pd.DataFrame([row(spec.name, "go-goroutines", 1.02, 3), row("go-nethttp", "go-goroutines", 1.02, 3)])
    result = {c.id: c for c in check(frame, {}, Context(3, 2, "wait", catalog))}
    assert result["G1"].verdict == "confirmed"  # the article's claims are about N = 5; G1 about any N
    assert "go-nethttp" not in result["G1"].measured  # C1 speaks for it
    assert "G1" not in {c.id for c in check(frame, {}, Context(3, 2, "cpu", catalog))}
    assert claims_for(CATALOG.servers_by_name["go-nethttp"]) == ["C1", "C2", "X5"]


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
    """CPU work on 2 cores as the claims expect it. The ratios are deliberately off the
    model (this machine's speed moves by half): the evidence alone must decide."""
    rows = []
    for client in ("go-goroutines", "httpx-async"):
        rows += [
            row("fastapi-def", client, 3.4, 5, 1, 5, parallelism=1.0),
            row("django-runserver", client, 7.3, 5, 1, 5, parallelism=0.98),
            row("gunicorn-threads5", client, 5.1, 5, 1, 5, parallelism=1.05),
            row("fastapi-async", client, 3.41, 1, 1, 1, parallelism=0.99),
            row("django-asgi-async", client, 5.0, 1, 1, 1, parallelism=1.0),
            row("gunicorn-workers5", client, 2.6, 5, 5, 5, parallelism=1.9),
            row("uvicorn-workers5", client, 2.9, 5, 4, 4, parallelism=1.8),
            row("gunicorn-uvicorn5", client, 2.7, 5, 5, 5, parallelism=1.85),
            row("go-nethttp", client, 4.0, 5, 1, 5, parallelism=1.95),
            row("go-bounded", client, 3.0, 2, 1, 5, parallelism=1.9),
        ]
    return pd.DataFrame(rows)


def test_cpu_claims_confirmed_by_evidence_not_ratio() -> None:
    result = verdicts(cpu_frame(), ctx=CPU)
    assert result == {f"X{i}": "confirmed" for i in range(1, 7)}  # only CPU claims apply to a CPU run


def test_threads_in_parallel_refute_the_gil_claim() -> None:
    frame = cpu_frame()
    frame.loc[frame["server"] == "fastapi-def", "parallelism"] = 1.9
    assert verdicts(frame, ctx=CPU)["X1"] == "refuted"


def test_parallelism_between_one_core_and_parallel_is_inconclusive() -> None:
    frame = cpu_frame()
    frame.loc[frame["server"] == "go-nethttp", "parallelism"] = 1.4
    assert verdicts(frame, ctx=CPU)["X5"] == "inconclusive"


def test_an_async_handler_with_all_in_flight_refutes_blocking() -> None:
    frame = cpu_frame()
    frame.loc[frame["server"] == "fastapi-async", ["max_in_flight", "threads"]] = (5, 5)
    frame.loc[frame["server"] == "fastapi-async", "parallelism"] = 1.0
    assert verdicts(frame, ctx=CPU)["X2"] == "refuted"


def test_a_busy_machine_refutes_no_parallelism_claim() -> None:
    frame = cpu_frame()
    frame["other_load"] = 0.1
    busy = frame["server"].isin(["go-nethttp", "gunicorn-workers5"])
    frame.loc[busy, ["parallelism", "other_load"]] = (0.95, 1.0)  # another process held a core
    result = verdicts(frame, ctx=CPU)
    assert result["X3"] == result["X5"] == "inconclusive", result
    frame.loc[busy, "other_load"] = 0.1  # the machine was free, and still one core's worth
    result = verdicts(frame, ctx=CPU)
    assert result["X5"] == "refuted" and result["X3"] == "inconclusive", result  # 5 processes never "interleave"


def test_one_usable_core_confirms_no_claim_about_parallelism() -> None:
    one_core = Context(5, 1, "cpu", CATALOG)
    frame = cpu_frame()
    frame["parallelism"] = 0.97  # one core: everything is one core's worth
    result = verdicts(frame, ctx=one_core)
    for claim in ("X1", "X3", "X4", "X5"):
        assert result[claim] == "inconclusive (1 usable core)", (claim, result)
    assert result["X2"] == "confirmed"  # one at a time shows on one core too
    assert result["X6"] == "confirmed"  # the semaphore: 2 in flight


def test_cpu_behaviour_names() -> None:
    assert behaviour(row("go-nethttp", "x", 2.5, 5, parallelism=1.9), CPU) == "parallel"
    assert behaviour(row("go-nethttp", "x", 2.5, 5, parallelism=1.0), CPU) == "interleaved"
    assert behaviour(row("go-nethttp", "x", 5.0, 1, parallelism=1.0), CPU) == "serial"
    assert behaviour(row("go-nethttp", "x", 3.9, 5, parallelism=1.4), CPU) == "in between"
    assert behaviour(row("go-nethttp", "x", 3.9, 5), CPU) == "in between"  # no CPU stamps: cannot tell
    assert behaviour(row("go-bounded", "x", 3.0, 2, parallelism=1.9), CPU) == "bounded"
    assert behaviour(row("go-nethttp", "x", 1.0, 5), WAIT) == "concurrent"


def small_d_frame() -> pd.DataFrame:
    """D = 2 ms: httpx-async needs 9 ms to get its five requests into handlers, so the
    concurrent servers read as serial to it (and as in between to the others)."""
    frame = article_frame(**{"go-nethttp|httpx-async": (5.65, 3), "gunicorn-threads5|httpx-async": (5.72, 3, 1, 3)})
    frame.loc[frame["client"] == "httpx-async", "dispatch_s"] = 0.009
    frame.loc[frame["client"] != "httpx-async", "dispatch_s"] = 0.0003
    return frame


def test_a_d_too_small_for_a_client_refutes_nothing() -> None:
    frame = small_d_frame()
    ctx = Context.of({"clients": 5, "delay_s": 0.002}, {"cores": 2}, CATALOG,
                     dispatch_s=client_dispatch_s(frame, CATALOG, 5))  # fmt: skip
    assert ctx.too_small("httpx-async") and not ctx.too_small("go-goroutines")
    assert ctx.needed_delay_s() == pytest.approx(0.045)
    results = {c.id: c for c in check(frame, HANDLERS, ctx)}
    assert "refuted" not in {c.verdict for c in results.values()}
    assert results["C1"].verdict == "D too small"
    assert "use --delay 0.045 or more" in results["C1"].measured
    assert results["C2"].verdict == "confirmed"  # names only the Go client, whose dispatch is fast
    assert results["C11"].verdict == "D too small"
    assert behaviour(frame[frame["client"] == "httpx-async"].iloc[0], ctx) == "D too small"


def test_dispatch_spread_is_read_on_servers_that_hold_all_n() -> None:
    frame = article_frame()
    frame["dispatch_s"] = 0.001
    frame.loc[frame["server"] == "gunicorn-default", "dispatch_s"] = 2.0  # a queue, not the client
    spreads = client_dispatch_s(frame, CATALOG, 5)
    assert spreads == {"go-goroutines": 0.001, "httpx-async": 0.001, "httpx-threads": 0.001}  # not sequential


def test_unchecked_claims_say_how_to_check_them() -> None:
    beyond = [c.id for c in CLAIMS if not c.article and not c.generic]
    assert not_checked("wait", set(CONCURRENT) | set(SERIAL), CATALOG) == beyond  # servers not run, or CPU work
    unchecked = not_checked("cpu", {"go-nethttp"}, CATALOG)
    assert [f"C{i}" for i in range(1, 12)] == unchecked[:11]  # the article's are about waiting
    assert "X5" not in unchecked and {"X1", "X2", "X3", "X7"} <= set(unchecked)


def test_cpu_ratios_are_read_against_the_servers_own_solo_calls() -> None:
    # calibration came out short: one Python call took 0.7 D, one Go call 1.0 D
    ctx = Context(5, 2, "cpu", CATALOG, call_s={"python": 0.21, "go": 0.3}, delay_s=0.3,
                  server_call_s={"fastapi-def": 0.15})  # fmt: skip
    assert ctx.scale("fastapi-def") == pytest.approx(0.5)  # its own solo calls first
    assert ctx.scale("fastapi-async") == pytest.approx(0.7)  # else its language's
    c = next(c for c in check(cpu_frame(), HANDLERS, ctx) if c.id == "X1")
    assert "fastapi-def go-goroutines 3.40x (6.80 calls)" in c.measured


def test_solo_calls_are_requests_that_ran_alone() -> None:
    from harness.compare.stats import solo_call_s
    from harness.core.records import Pairing
    from tests.helpers import batch, concurrent_requests, serial_requests

    serial = Pairing(
        "fastapi-async", "go-goroutines", "ok", "", [batch("fastapi-async", "x", 1, 5.0, serial_requests(d_ms=200))]
    )
    together = Pairing(
        "fastapi-def", "go-goroutines", "ok", "", [batch("fastapi-def", "x", 1, 5.0, concurrent_requests(d_ms=900))]
    )
    warmup = Pairing("go-nethttp", "x", "ok", "", [batch("go-nethttp", "x", 0, 1.0, serial_requests(d_ms=50))])
    by_server, by_language = solo_call_s([serial, together, warmup], lambda n: "go" if n.startswith("go") else "python")
    assert by_server == {"fastapi-async": pytest.approx(0.2)}  # overlapping requests and warm-ups do not count
    assert by_language == {"python": pytest.approx(0.2)}
    ctx = Context.of({"clients": 5, "work": "cpu", "delay_s": 0.3, "calibration": {"python_call_s": 0.514}},
                     {"cores": 2}, CATALOG, by_language, server_call_s=by_server)  # fmt: skip
    assert ctx.scale("fastapi-def") == pytest.approx(0.2 / 0.3)  # the run's own calls beat the calibration
    assert ctx.scale("go-nethttp") == pytest.approx(1.0)  # no solo Go call, no Go calibration: D


def test_with_cpu_work_the_spread_is_the_clients_own_sends() -> None:
    # on one busy core a handler enters late because the others compute: that is the
    # server's doing, so with CPU work the floor reads the client's own send spread
    frame = pd.DataFrame([row("go-nethttp", "go-goroutines", 5.0, 5, parallelism=1.0, dispatch_s=0.052)])
    frame["send_spread_s"] = 0.0002
    assert client_dispatch_s(frame, CATALOG, 5, "cpu") == {"go-goroutines": 0.0002}
    assert client_dispatch_s(frame, CATALOG, 5, "wait") == {"go-goroutines": 0.052}


def test_async_workers_that_got_every_request_in_one_process_refute_nothing() -> None:
    frame = cpu_frame()
    one = frame["server"] == "uvicorn-workers5"
    frame.loc[one, ["max_in_flight", "processes", "threads", "parallelism"]] = (1, 1, 1, 0.99)
    assert verdicts(frame, ctx=CPU)["X4"] == "inconclusive"  # the kernel gave one worker all five connections


def test_a_claim_over_several_servers_needs_every_one_measured() -> None:
    """X1 names fastapi-def, django-runserver and gunicorn-threads5: one of them is not enough."""
    frame = pd.DataFrame([row("fastapi-def", "go-goroutines", 5.0, 5, 1, 5, parallelism=1.0)])
    result = next(c for c in check(frame, {}, CPU) if c.id == "X1")
    assert result.verdict == "inconclusive"
    assert "not measured: django-runserver, gunicorn-threads5" in result.measured


def test_one_clients_refutation_beats_anothers_d_too_small() -> None:
    frame = small_d_frame()
    frame.loc[(frame["server"] == "go-nethttp") & (frame["client"] == "go-goroutines"), "ratio_median"] = 5.05
    frame.loc[(frame["server"] == "go-nethttp") & (frame["client"] == "go-goroutines"), "max_in_flight"] = 1
    ctx = Context.of({"clients": 5, "delay_s": 0.002}, {"cores": 2}, CATALOG,
                     dispatch_s=client_dispatch_s(frame, CATALOG, 5))  # fmt: skip
    assert ctx.too_small("httpx-async") and not ctx.too_small("go-goroutines")
    assert {c.id: c.verdict for c in check(frame, HANDLERS, ctx)}["C1"] == "refuted"
