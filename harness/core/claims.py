"""The claims as data: the article's and ours beyond it, each with the behaviour it
expects and, where it says *why*, the evidence; and how a report describes a catalog
entry with the claims it is checked against.

Catalog entries name the claims they test by id (``ServerSpec.claims``); compare
checks them (``harness.compare.claims``), and compare's and the sweep's reports both
describe each server with ``server_summary``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.core.catalog import ServerSpec

Behaviour = Literal["concurrent", "serial", "interleaved", "parallel", "bounded", "rejecting"]
Count = Literal["one", "N"]
Work = Literal["wait", "cpu"]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    expect: Behaviour | None = None
    processes: Count | None = None
    threads: Count | None = None
    depends: tuple[str, ...] = ()
    same_handler: bool = False
    """The servers must have run one and the same handler (C11)."""
    work: Work = "wait"
    article: bool = True
    """The article's own claim (C1..C11), or one beyond it (X1.., G1)."""
    generic: bool = False
    """About every server that declares no waiting-work claim, each held to its own
    declared capacity (``G1``), instead of the servers that declare it."""
    any_n: bool = False
    """Judged at any N (the article's claims are about five clients)."""
    http: str = "1.1"
    """The protocol the claim is about: ``2`` is judged only on a ``--http 2`` run (and a
    ``1.1`` claim only on an HTTP/1.1 one)."""
    spread: bool = False
    """About several worker processes: a pairing whose requests all went to one of
    them (their shared socket's accepts are the kernel's pick) cannot refute it."""


CLAIMS: tuple[Claim, ...] = (
    Claim("C1", "Go net/http serves the five requests concurrently", "concurrent", processes="one", threads="N"),
    # C2 is about a client: the clients that declare it count (and the servers that declare it)
    Claim("C2", "the Go client's goroutines + WaitGroup issue the five requests concurrently", "concurrent"),
    Claim("C3", "FastAPI `async def` that awaits its wait: concurrent", "concurrent", processes="one", threads="one"),
    Claim("C4", "FastAPI plain `def`: concurrent through the threadpool", "concurrent", processes="one", threads="N"),
    Claim("C5", "FastAPI `async def` that blocks (time.sleep) blocks the server", "serial"),
    Claim("C6", "Django `runserver` (threaded default): concurrent with a plain `def` view", "concurrent",
          processes="one", threads="N"),
    Claim("C7", "Django `runserver --nothreading`: serial", "serial"),
    Claim("C8", "gunicorn defaults (1 sync worker, 1 thread): serial", "serial"),
    Claim("C9", "gunicorn `-w 1 --threads 5`: concurrent", "concurrent", processes="one", threads="N"),
    Claim("C10", "gunicorn `-w 5`: concurrent", "concurrent", processes="N"),
    Claim("C11", "the same Django view is serial or concurrent depending only on how it is served",
          depends=("C6", "C7", "C8", "C9", "C10"), same_handler=True),
    # Beyond the article. With CPU work, concurrency is not parallelism.
    Claim("X1", "with CPU work, Python threads take turns (the GIL): all N in flight, no parallelism",
          "interleaved", threads="N", work="cpu", article=False),
    Claim("X2", "with CPU work, an `async def` handler blocks its event loop: one at a time", "serial",
          work="cpu", article=False),
    Claim("X3", "with CPU work, sync worker processes run handlers in parallel, up to the cores", "parallel",
          processes="N", work="cpu", article=False),
    Claim("X4", "with CPU work, async worker processes run handlers in parallel, up to the cores", "parallel",
          work="cpu", article=False, spread=True),
    Claim("X5", "with CPU work, Go runs handlers in parallel, up to the cores", "parallel",
          processes="one", threads="N", work="cpu", article=False),
    Claim("X6", "with CPU work, a semaphore bounds Go's handlers: ceil(N / k) rounds", "bounded", work="cpu",
          article=False),
    # Beyond the article: the setups people deploy, waiting as in the article.
    Claim("X7", "uvicorn `--workers 5` (async app): concurrent", "concurrent", article=False),
    Claim("X8", "gunicorn with uvicorn workers (`-k uvicorn_worker.UvicornWorker -w 5`): concurrent", "concurrent",
          article=False),
    Claim("X9", "Django `async def` view that awaits, under uvicorn (ASGI): concurrent in one thread", "concurrent",
          processes="one", threads="one", article=False),
    Claim("X10", "a semaphore of k bounds Go's net/http to k requests at a time: ceil(N / k) x D", "bounded",
          article=False),
    # The setups engineers choose today.
    Claim("X11", "gunicorn's gevent worker: the waiting view yields (time.sleep is patched), so one worker "
          "serves all N at once, in one thread", "concurrent", processes="one", threads="one", article=False),
    Claim("X12", "with CPU work, gevent's greenlets never yield while computing: one at a time", "serial",
          work="cpu", article=False),
    Claim("X13", "uvicorn with uvloop and httptools: concurrent in one thread, as with asyncio and h11",
          "concurrent", processes="one", threads="one", article=False),
    Claim("X14", "uvicorn `--limit-concurrency`: beyond its limit requests are answered 503 at once (rejected, "
          "not queued), at most k served at a time", "rejecting", article=False, any_n=True),
    Claim("X15", "with CPU work, GOMAXPROCS=1 gives Go one core's worth: all N in flight, parallelism about 1",
          "interleaved", processes="one", threads="N", work="cpu", article=False),
    # Over HTTP/2 (`--http 2`): N streams of one connection.
    Claim("H1", "gunicorn `-w 1 --threads 5` (gthread) over h2c: one thread serves all of a connection's streams "
          "in turn, so five streams of one connection are served one at a time", "serial", processes="one",
          threads="one", article=False, http="2"),
    Claim("H2", "granian WSGI `--http 2`: five streams of one connection are served at once by its blocking "
          "threads", "concurrent", processes="one", threads="N", article=False, http="2"),
    Claim("H3", "granian ASGI `--http 2`: five streams of one connection are served at once, in one thread",
          "concurrent", processes="one", threads="one", article=False, http="2"),
    Claim("H4", "hypercorn (ASGI) over h2c: five streams of one connection are served at once, in one thread",
          "concurrent", processes="one", threads="one", article=False, http="2"),
    Claim("H5", "gunicorn's gevent worker over h2c: one greenlet serves all of a connection's streams in turn, so "
          "five streams of one connection are served one at a time", "serial", processes="one", threads="one",
          article=False, http="2"),
    Claim("H6", "gunicorn's ASGI worker over h2c: a task per stream, so five streams of one connection are served "
          "at once, in one thread", "concurrent", processes="one", threads="one", article=False, http="2"),
    # Any server, from what it declares: the one claim a new entry gets without code.
    Claim("G1", "a server's declared capacity k holds: N <= k requests are served at once (~1 x D, N in flight), "
          "N > k in waves (ceil(N / k) x D, k in flight)", article=False, generic=True),
)  # fmt: skip

CLAIMS_BY_ID = {c.id: c for c in CLAIMS}
WAIT_CLAIMS = frozenset(c.id for c in CLAIMS if c.work == "wait" and not c.generic and c.http == "1.1")
"""The waiting-work claims of HTTP/1.1 runs: a server that declares none is held to G1 there."""


def claims_for(spec: ServerSpec) -> list[str]:
    """Ids of the claims a server is checked against: those it declares, or the generic one."""
    generic = [c.id for c in CLAIMS if c.generic and not set(spec.claims) & WAIT_CLAIMS]
    return [c.id for c in CLAIMS if c.id in spec.claims] + generic


WAITS = (
    ("that awaits asyncio.sleep(D)", "that computes for about D (awaiting nothing: the loop is held)"),
    ("that calls time.sleep(D)", "that computes for about D"),
    ("view that awaits asyncio.sleep(D)", "view that computes for about D (the loop is held)"),
)
"""How the catalog's summaries say a handler waits, and what it does instead with ``--work cpu``."""


def server_summary(spec: ServerSpec, work: str = "wait") -> str:
    """The entry's summary, capacity and claims; with CPU work, what its handler does then
    (the capacity, and its reason, are about waiting handlers: they are labelled so)."""
    capacity = "no limit" if spec.capacity is None else f"{spec.capacity} at once"
    reason = f" ({spec.capacity_reason})" if spec.capacity_reason else ""
    ids = claims_for(spec)
    claim = f" Claims: {', '.join(ids)}." if ids else ""
    summary = spec.summary
    if work == "cpu":
        for waiting, computing in WAITS:
            summary = summary.replace(waiting, computing)
        summary += "; with `--work cpu` every handler computes the calibrated loop for about D instead of waiting"
        does = f" Computing: {spec.computing}." if spec.computing else ""
        return f"{summary}. Capacity while waiting: {capacity}{reason}.{does}{claim}"
    return f"{summary}. Capacity: {capacity}{reason}.{claim}"
