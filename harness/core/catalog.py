"""The servers and clients of the comparison, as data.

Every entry is one frozen, typed record (a pydantic model): the command that runs it
(a template filled in by ``runner``), how it gets its socket, what it is expected to
do, and the ids of the claims it tests (``claims``). Nothing else in the harness
names a server or a client; adding a setup is adding an entry here, or a
``[[server]]`` / ``[[client]]`` table in a ``--catalog`` TOML file, checked by the
same schema before anything starts.

Command templates may use: ``{python}`` (this interpreter), ``{go_server}``,
``{go_client}``, ``{go_article}`` (built binaries), ``{host}``, ``{port}``, ``{fd}``,
``{delay}`` (seconds), ``{work}`` (wait or cpu), ``{go_cpu_iterations}``, and for
clients ``{url}``, ``{clients}``, ``{batches}``, ``{timeout}`` (seconds) and
``{connections}`` (``reuse`` or ``fresh``). Entries from
a ``--catalog`` TOML file may also use ``{catalog_dir}``, the file's folder.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    model_validator,
)

from harness.core.errors import UsageError

GO_BINARIES = {"go_server", "go_client", "go_article"}
SERVER_FIELDS = {"python", "host", "port", "fd", "delay", "work", "go_cpu_iterations"} | GO_BINARIES
CLIENT_FIELDS = {
    "python", "host", "work", "go_cpu_iterations", "url", "clients", "batches", "timeout", "connections"
} | GO_BINARIES  # fmt: skip
"""The placeholders a command template may use (``runner`` fills them)."""


def fields_of(command: tuple[str, ...]) -> set[str]:
    """The placeholders a command template uses."""
    return {name for part in command for _, name, _, _ in string.Formatter().parse(part) if name}


H2c = Literal["no", "also", "only"]
"""Whether a server's command line serves cleartext HTTP/2 with prior knowledge (h2c):
``no`` (HTTP/1.1 only), ``also`` (both on one socket, as Go's net/http), ``only``
(an ``-h2`` twin whose command line asks for HTTP/2 alone)."""

Listen = Literal["fd", "port"]
"""``fd``: the harness binds 127.0.0.1 and the server inherits the socket (no port
race); ``port``: the server binds the port itself and, for port 0, prints it."""


def _env_pairs(value: object) -> object:
    """A TOML table of strings becomes sorted (name, value) pairs; anything else is left to the schema."""
    if isinstance(value, Mapping):
        bad = [f"{k} = {v!r}" for k, v in value.items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"values must be strings, got {', '.join(bad)}")
        return tuple(sorted(value.items()))
    return value


def _port_pattern(value: object) -> object:
    if isinstance(value, str):
        try:
            found = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regex ({exc})") from None
        if found.groups < 1:
            raise ValueError("needs a capturing group, e.g. (\\d+), that finds the port")
    return value


Command = Annotated[tuple[StrictStr, ...], Field(min_length=1)]
Env = Annotated[tuple[tuple[StrictStr, StrictStr], ...], BeforeValidator(_env_pairs)]
ClaimIds = tuple[StrictStr, ...]
Seconds = Annotated[float, Field(gt=0, strict=True)]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[StrictStr, Field(min_length=1)]
    summary: StrictStr
    command: Command
    env: Env = ()
    claims: ClaimIds = ()
    """Ids of the claims (``harness.core.claims``) this entry tests."""

    @property
    def needs_go(self) -> bool:
        return bool(fields_of(self.command) & GO_BINARIES)

    def _placeholders(self, known: set[str]) -> None:
        if unknown := fields_of(self.command) - known:
            raise ValueError(f"command: unknown placeholders {sorted(unknown)}; known: {sorted(known)}")


class ServerSpec(_Entry):
    listen: Listen = "fd"
    port_pattern: Annotated[StrictStr | None, BeforeValidator(_port_pattern)] = None
    """Regex with one group that finds the bound port in the log (``listen="port"``)."""
    capacity: Annotated[int, Field(gt=0, strict=True)] | None = None
    """Requests it can hold at once; ``None`` means no limit short of the machine."""
    capacity_reason: StrictStr = ""
    computing: StrictStr = ""
    """What its handlers do when they compute instead of wait (``--work cpu``): the
    capacity and its reason speak of waiting handlers."""
    ready_timeout_s: Seconds = 30.0
    connections: Literal["reuse", "fresh"] | None = None
    """The connection policy its clients use whatever ``--connections`` says (``None``: that
    option's): a server that counts open connections against a limit (uvicorn's
    ``--limit-concurrency``) would count a kept-alive idle one from an earlier batch."""
    client_stagger_s: Annotated[float, Field(ge=0, le=0.1, strict=True)] = 0.0
    """In compare, its clients send request i of a batch i x this many seconds after the first: a server
    that counts connections as they are accepted (uvicorn's limit) rejects every request when
    all N connect before it reads one, so only a stagger shows its k deterministically."""
    backlog: Annotated[int, Field(gt=0, strict=True)] | None = None
    """Its listen socket's accept backlog when it sets its own, small enough to matter
    (Django's runserver: 10): beyond it, connections that arrive at once may wait for the
    kernel's SYN resend (1 s, then 3 s, ...), which the sweep's model predicts."""
    h2c: H2c = "no"
    """Serves h2c (``--http 2``): see ``H2c``."""
    default: StrictBool = True
    """Part of a run that does not name its servers."""

    @model_validator(mode="after")
    def _consistent(self) -> ServerSpec:
        self._placeholders(SERVER_FIELDS)
        needs = "fd" if self.listen == "fd" else "port"
        if needs not in fields_of(self.command):
            raise ValueError(f"listen = {self.listen!r} needs {{{needs}}} in the command")
        if self.listen == "port" and not self.port_pattern:
            raise ValueError("listen = 'port' needs a port_pattern that finds the port in its log")
        return self

    def port_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.port_pattern) if self.port_pattern else None

    def serves(self, http: str) -> bool:
        """Whether this command line speaks ``--http`` ``1.1`` or ``2``."""
        return self.h2c != "no" if http == "2" else self.h2c != "only"


class ClientSpec(_Entry):
    concurrent: StrictBool
    """Whether it sends a batch's requests at once (the sequential baseline does not)."""
    timeout_s: Seconds | None = None
    """Longest wait for one batch; ``None``: derived from N and D (``runner``)."""
    http2_flags: tuple[StrictStr, ...] = ()
    """Appended to the command under ``--http 2``: h2c with prior knowledge, the N
    requests as N streams of one connection. Empty: it cannot (``no_http2`` says why)."""
    no_http2: StrictStr = ""
    """Why it cannot speak HTTP/2, said when ``--http 2`` leaves it out."""
    default: StrictBool = True
    """Part of a run that does not name its clients."""

    def http2_reason(self) -> str | None:
        """Why ``--http 2`` leaves this client out, or ``None`` when it speaks h2c."""
        if self.http2_flags:
            return None
        return self.no_http2 or "its catalog entry gives no http2_flags"

    @model_validator(mode="after")
    def _consistent(self) -> ClientSpec:
        self._placeholders(CLIENT_FIELDS)
        return self


class TargetSpec(BaseModel):
    """A server of the user's that the harness never starts (``[[target]]`` in a ``--catalog``
    file), measured with ``--target URL --as NAME``: its declared capacity, as ``--capacity``
    gives it, with the reason kept beside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[StrictStr, Field(min_length=1)]
    summary: StrictStr = ""
    capacity: Annotated[int, Field(gt=0, strict=True)]
    capacity_reason: StrictStr = ""


GO_SERVER = ("{go_server}", "-fd", "{fd}", "-delay", "{delay}s", "-work", "{work}",
             "-cpu-iterations", "{go_cpu_iterations}")  # fmt: skip
GO_BOUND = 2
"""The semaphore size of ``go-bounded``: small enough that N = 5 shows it (3 x D)."""
DJANGO_WSGI = "servers.django_project.wsgi:application"
GUNICORN = ("{python}", "-m", "gunicorn", "-b", "fd://{fd}")
UVICORN_BASE = ("{python}", "-m", "uvicorn", "--host", "{host}", "--port", "{port}")
UVICORN = (*UVICORN_BASE, "--loop", "asyncio", "--http", "h11")
"""The article's uvicorn: the asyncio loop and h11, stated, because uvicorn's ``auto``
picks uvloop and httptools whenever they are installed (they are, for
``uvicorn-uvloop``), which would change every uvicorn entry behind its back."""
UVICORN_PORT = r"Uvicorn running on http://[^/]*:(\d+)"
"""uvicorn binds its own port: with ``--fd`` it wraps the socket as AF_UNIX, so
asyncio never sets TCP_NODELAY and every response waits ~40 ms for a delayed ACK
(measured: 6.2x instead of 5.2x for five sequential requests at D = 0.2 s)."""
GRANIAN = ("{python}", "-m", "servers.granian_fd", "{fd}", "--port", "{port}", "--backlog", "4096")
"""granian on the harness's socket through a small wrapper (``python/servers/granian_fd.py``):
its CLI takes no inherited socket, and with port 0 its log names port 0."""
APP_ASYNC = "servers.fastapi_app:app_async"
GRANIAN_WSGI = (*GRANIAN, "--interface", "wsgi", "--workers", "1", "--blocking-threads", "5")
GRANIAN_ASGI = (*GRANIAN, "--interface", "asgi", "--loop", "asyncio", "--workers", "1")
GUNICORN_H2C = ("--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge")
"""gunicorn 27's h2c with prior knowledge, for peers in ``forwarded_allow_ips``
(127.0.0.1 by default): a cleartext connection must then open with the HTTP/2
preface (an HTTP/1.1 request got 400, measured), so the entry is HTTP/2 only."""
RUNSERVER = ("{python}", "manage.py", "runserver", "{host}:{port}", "--noreload", "--skip-checks")
RUNSERVER_PORT = r"Starting development server at http://[^/]*:(\d+)/"


LOOP_HELD = "a computing handler holds the event loop: one at a time"
GIL_TURNS = "its threads take turns on the GIL: all N in flight, one core's worth"
CORES = "in parallel, up to the cores"


def go_server(name: str, *, flags: tuple[str, ...] = (), **fields: Any) -> ServerSpec:
    """The Go server on the harness's socket, ``flags`` after its usual ones; it serves
    HTTP/1.1 and h2c on the same socket (``http.Server.Protocols``, Go 1.24)."""
    return ServerSpec(name=name, command=(*GO_SERVER, *flags), h2c="also", **fields)


def uvicorn(
    name: str, app: str, *, flags: tuple[str, ...] = (), base: tuple[str, ...] = UVICORN, **fields: Any
) -> ServerSpec:
    """uvicorn serving ``app`` on the port it binds itself (see ``UVICORN_PORT``), ``flags`` before the app."""
    return ServerSpec(name=name, command=(*base, *flags, app), listen="port", port_pattern=UVICORN_PORT, **fields)


def runserver(name: str, *, flags: tuple[str, ...] = (), **fields: Any) -> ServerSpec:
    """Django's ``manage.py runserver`` on the port it binds itself, ``flags`` after its usual ones."""
    return ServerSpec(name=name, command=(*RUNSERVER, *flags), listen="port", port_pattern=RUNSERVER_PORT, **fields)


def gunicorn(name: str, app: str, *, flags: tuple[str, ...] = (), **fields: Any) -> ServerSpec:
    """gunicorn serving ``app`` on the harness's socket, ``flags`` before the app."""
    return ServerSpec(name=name, command=(*GUNICORN, *flags, app), **fields)


SERVERS: tuple[ServerSpec, ...] = (
    go_server(
        "go-nethttp",
        claims=("C1", "C2", "X5"),
        summary="Go net/http: http.HandleFunc + Serve, one goroutine per connection",
        capacity=None,
        capacity_reason="one goroutine per connection",
        computing=f"goroutines compute {CORES} (GOMAXPROCS is the core count)",
    ),
    uvicorn(
        "fastapi-async",
        APP_ASYNC,
        claims=("C3", "X2"),
        summary="uvicorn, FastAPI `async def` that awaits asyncio.sleep(D)",
        capacity=None,
        capacity_reason="awaiting handlers share one event loop",
        computing=LOOP_HELD,
    ),
    uvicorn(
        "fastapi-def",
        "servers.fastapi_app:app_def",
        claims=("C4", "X1"),
        summary="uvicorn, FastAPI plain `def` that calls time.sleep(D)",
        capacity=40,
        capacity_reason="anyio's default threadpool limiter: 40 threads",
        computing=GIL_TURNS,
    ),
    uvicorn(
        "fastapi-async-blocking",
        "servers.fastapi_app:app_async_blocking",
        claims=("C5",),
        summary="uvicorn, FastAPI `async def` that calls time.sleep(D)",
        capacity=1,
        capacity_reason="time.sleep blocks the one event loop",
        computing=LOOP_HELD,
    ),
    runserver(
        "django-runserver",
        claims=("C6", "C11", "X1"),
        summary="Django `manage.py runserver` (threaded default), plain `def` view",
        capacity=None,
        capacity_reason="one thread per connection",
        backlog=10,
        computing=GIL_TURNS,
    ),
    runserver(
        "django-nothreading",
        flags=("--nothreading",),
        claims=("C7", "C11"),
        summary="Django `manage.py runserver --nothreading`, same view",
        capacity=1,
        capacity_reason="one thread serves one connection at a time",
        computing="one at a time, as while waiting",
    ),
    gunicorn(
        "gunicorn-default",
        DJANGO_WSGI,
        claims=("C8", "C11"),
        summary="gunicorn with its defaults (1 sync worker, 1 thread), same view",
        capacity=1,
        capacity_reason="1 sync worker with 1 thread",
        computing="one at a time, as while waiting",
    ),
    gunicorn(
        "gunicorn-threads5",
        DJANGO_WSGI,
        flags=("-w", "1", "--threads", "5"),
        claims=("C9", "C11", "X1"),
        summary="gunicorn `-w 1 --threads 5` (gthread), same view",
        capacity=5,
        capacity_reason="1 worker x 5 threads",
        computing=GIL_TURNS,
    ),
    gunicorn(
        "gunicorn-workers5",
        DJANGO_WSGI,
        flags=("-w", "5"),
        claims=("C10", "C11", "X3"),
        summary="gunicorn `-w 5` (5 sync worker processes), same view",
        capacity=5,
        capacity_reason="5 processes x 1 thread",
        computing=f"5 processes compute {CORES}",
    ),
    # Beyond the article: setups people deploy. Not in a run that does not name its
    # servers (the article's matrix); `--servers all` takes them.
    uvicorn(
        "uvicorn-workers5",
        APP_ASYNC,
        flags=("--workers", "5"),
        claims=("X4", "X7"),
        summary="uvicorn `--workers 5`, the FastAPI `async def` app (5 processes, an event loop each)",
        capacity=None,
        capacity_reason="5 event loops, each unbounded for awaiting handlers",
        computing=f"one handler at a time per process; {CORES} as far as the kernel spreads the connections",
        default=False,
    ),
    gunicorn(
        "gunicorn-uvicorn5",
        APP_ASYNC,
        flags=("-k", "uvicorn_worker.UvicornWorker", "-w", "5"),
        claims=("X4", "X8"),
        summary="gunicorn `-k uvicorn_worker.UvicornWorker -w 5`, the FastAPI `async def` app",
        capacity=None,
        capacity_reason="5 event loops, each unbounded for awaiting handlers",
        computing=f"one handler at a time per process; {CORES} as far as the kernel spreads the connections",
        default=False,
    ),
    uvicorn(
        "django-asgi-async",
        "servers.django_project.asgi:application",
        claims=("X2", "X9"),
        summary="uvicorn (ASGI), Django `async def` view that awaits asyncio.sleep(D)",
        capacity=None,
        capacity_reason="awaiting views share one event loop",
        computing=LOOP_HELD,
        default=False,
    ),
    # The setups engineers choose today, each with its declared capacity and why.
    gunicorn(
        "gunicorn-gevent",
        DJANGO_WSGI,
        flags=("-k", "gevent", "-w", "1"),
        claims=("X11", "X12"),
        summary="gunicorn `-k gevent -w 1`, the same Django view (gevent patches time.sleep)",
        capacity=1000,
        capacity_reason="1 gevent worker: a greenlet per connection up to --worker-connections (default 1000); "
        "a waiting view yields, a computing one holds the worker",
        computing="a computing view never yields to the other greenlets: one at a time",
        default=False,
    ),
    ServerSpec(
        name="granian-wsgi",
        summary="granian `--interface wsgi --workers 1 --blocking-threads 5`, the same Django view",
        command=(*GRANIAN_WSGI, DJANGO_WSGI),
        capacity=5,
        capacity_reason="1 worker x 5 blocking threads, stated (granian's WSGI default is backpressure // 2, "
        "512 with its default backlog)",
        computing=GIL_TURNS,
        default=False,
    ),
    ServerSpec(
        name="granian-asgi",
        summary="granian `--interface asgi --loop asyncio --workers 1`, the FastAPI `async def` app",
        command=(*GRANIAN_ASGI, APP_ASYNC),
        capacity=None,
        capacity_reason="awaiting handlers share one event loop (--backpressure, default backlog / workers, "
        "is the only cap)",
        computing=LOOP_HELD,
        default=False,
    ),
    ServerSpec(
        name="hypercorn-asgi",
        summary="hypercorn `-w 1`, the FastAPI `async def` app",
        command=(
            "{python}",
            "-m",
            "hypercorn",
            "--bind",
            "fd://{fd}",
            "-w",
            "1",
            "--backlog",
            "4096",
            APP_ASYNC,
        ),
        capacity=None,
        capacity_reason="awaiting handlers share one event loop (hypercorn re-listens on the socket with its "
        "--backlog, 100 by default; the command passes 4096)",
        computing=LOOP_HELD,
        claims=("H4",),
        h2c="also",
        default=False,
    ),
    uvicorn(
        "uvicorn-uvloop",
        APP_ASYNC,
        flags=("--loop", "uvloop", "--http", "httptools"),
        base=UVICORN_BASE,
        claims=("X13",),
        summary="uvicorn `--loop uvloop --http httptools`, the FastAPI `async def` app",
        capacity=None,
        capacity_reason="awaiting handlers share one event loop; only the loop and parser differ",
        computing=LOOP_HELD,
        default=False,
    ),
    uvicorn(
        "uvicorn-limit5",
        APP_ASYNC,
        flags=("--limit-concurrency", "5"),
        claims=("X14",),
        summary="uvicorn `--limit-concurrency 5`, the FastAPI `async def` app: 503 instead of queueing",
        capacity=4,
        capacity_reason="uvicorn answers 503 once open connections or tasks reach 5, its own connection "
        "counted: 4 served at once, the rest rejected, none queued (clients use fresh connections, sent "
        "20 ms apart: kept-alive idle connections, or N connections accepted before any request is read, "
        "would count against the limit too)",
        connections="fresh",
        client_stagger_s=0.02,
        computing=f"{LOOP_HELD}; beyond the limit, 503 at once",
        default=False,
    ),
    go_server(
        "go-gomaxprocs1",
        claims=("X15",),
        summary="the Go server with GOMAXPROCS=1: goroutines on one OS thread at a time",
        env=(("GOMAXPROCS", "1"),),
        capacity=None,
        capacity_reason="one goroutine per connection; GOMAXPROCS=1 lets one of them run Go code at a time",
        computing="goroutines take turns on one OS thread: all N in flight, one core's worth",
        default=False,
    ),
    gunicorn(
        "gunicorn-asgi",
        APP_ASYNC,
        flags=("-k", "asgi", "-w", "1"),
        summary="gunicorn's own ASGI worker `-k asgi -w 1`, the FastAPI `async def` app",
        capacity=None,
        capacity_reason="awaiting handlers share one event loop (the worker re-listens with asyncio's default "
        "backlog, 100, whatever --backlog says)",
        computing=LOOP_HELD,
        default=False,
    ),
    # HTTP/2 twins (`--http 2`): the same setups with the command line h2c needs.
    gunicorn(
        "gunicorn-threads5-h2",
        DJANGO_WSGI,
        flags=("-w", "1", "--threads", "5", *GUNICORN_H2C),
        claims=("H1",),
        summary="gunicorn `-w 1 --threads 5` (gthread) serving h2c with prior knowledge, same view",
        capacity=5,
        capacity_reason="1 worker x 5 threads, one thread per connection",
        computing=GIL_TURNS,
        h2c="only",  # with prior-knowledge, a cleartext connection must open with the HTTP/2 preface
        default=False,
    ),
    gunicorn(
        "gunicorn-gevent-h2",
        DJANGO_WSGI,
        flags=("-k", "gevent", "-w", "1", *GUNICORN_H2C),
        claims=("H5",),
        summary="gunicorn `-k gevent -w 1` serving h2c with prior knowledge, the same Django view",
        capacity=1000,
        capacity_reason="1 gevent worker: a greenlet per connection up to --worker-connections (default 1000), "
        "which serves its connection's streams in turn",
        computing="a computing view never yields to the other greenlets: one at a time",
        h2c="only",
        default=False,
    ),
    gunicorn(
        "gunicorn-asgi-h2",
        APP_ASYNC,
        flags=("-k", "asgi", "-w", "1", *GUNICORN_H2C),
        claims=("H6",),
        summary="gunicorn's ASGI worker `-k asgi -w 1` serving h2c with prior knowledge, the FastAPI `async def` app",
        capacity=None,
        capacity_reason="awaiting handlers share one event loop, a task per stream",
        computing=LOOP_HELD,
        h2c="only",
        default=False,
    ),
    ServerSpec(
        name="granian-wsgi-h2",
        summary="granian-wsgi with `--http 2`: the same Django view over h2c",
        command=(*GRANIAN_WSGI, "--http", "2", DJANGO_WSGI),
        claims=("H2",),
        capacity=5,
        capacity_reason="1 worker x 5 blocking threads, stated",
        computing=GIL_TURNS,
        h2c="only",
        default=False,
    ),
    ServerSpec(
        name="granian-asgi-h2",
        summary="granian-asgi with `--http 2`: the FastAPI `async def` app over h2c",
        command=(*GRANIAN_ASGI, "--http", "2", APP_ASYNC),
        claims=("H3",),
        capacity=None,
        capacity_reason="awaiting handlers share one event loop",
        computing=LOOP_HELD,
        h2c="only",
        default=False,
    ),
    go_server(
        "go-bounded",
        flags=("-max-inflight", str(GO_BOUND)),
        claims=("X6", "X10"),
        summary=f"the Go server with handlers bounded by a semaphore (buffered channel) of {GO_BOUND}",
        capacity=GO_BOUND,
        capacity_reason=f"a buffered channel of {GO_BOUND} as a semaphore",
        computing=f"{GO_BOUND} goroutines compute at a time, {CORES}",
        default=False,
    ),
)

HTTPX_CLIENT = (
    "{python}",
    "-m",
    "clients.httpx_client",
    "--url",
    "{url}",
    "--clients",
    "{clients}",
    "--batches",
    "{batches}",
    "--timeout",
    "{timeout}",
    "--connections",
    "{connections}",
    "--mode",
)
HTTPX_H2 = ("--http", "2")
"""httpx's ``AsyncClient``/``Client(http1=False, http2=True)``: prior knowledge over http:// (``h2``)."""

CLIENTS: tuple[ClientSpec, ...] = (
    ClientSpec(
        name="go-goroutines",
        claims=("C2",),
        summary="the article's Go client: goroutines + sync.WaitGroup",
        command=(
            "{go_client}",
            "-url",
            "{url}",
            "-clients",
            "{clients}",
            "-batches",
            "{batches}",
            "-timeout",
            "{timeout}s",
            "-connections",
            "{connections}",
        ),
        concurrent=True,
        http2_flags=("-http2",),
    ),
    ClientSpec(
        name="httpx-async",
        summary="one httpx.AsyncClient, asyncio.gather",
        command=(*HTTPX_CLIENT, "async"),
        http2_flags=HTTPX_H2,
        concurrent=True,
    ),
    ClientSpec(
        name="httpx-threads",
        summary="one thread per request, one shared httpx.Client",
        command=(*HTTPX_CLIENT, "threads"),
        http2_flags=HTTPX_H2,
        concurrent=True,
    ),
    ClientSpec(
        name="httpx-sequential",
        summary="one request after another (the naive baseline)",
        command=(*HTTPX_CLIENT, "sequential"),
        http2_flags=HTTPX_H2,
        concurrent=False,
    ),
)


MORE_CLIENTS = (
    "{python}",
    "-m",
    "clients.more_clients",
    "--url",
    "{url}",
    "--clients",
    "{clients}",
    "--batches",
    "{batches}",
    "--timeout",
    "{timeout}",
    "--connections",
    "{connections}",
    "--mode",
)
# The clients Python code really uses: not in a run that does not name its clients
# (the article's matrix); `--client-impls all` takes them.
CLIENTS += (
    ClientSpec(
        name="requests-threads",
        summary="one requests.Session shared by a ThreadPoolExecutor of N, HTTPAdapter pool sized N",
        command=(*MORE_CLIENTS, "requests-threads"),
        concurrent=True,
        no_http2="requests (urllib3 2) speaks HTTP/1.1 only",
        default=False,
    ),
    ClientSpec(
        name="aiohttp-async",
        summary="one aiohttp.ClientSession, TCPConnector(limit=N), asyncio.gather",
        command=(*MORE_CLIENTS, "aiohttp-async"),
        concurrent=True,
        no_http2="aiohttp's client speaks HTTP/1.1 only",
        default=False,
    ),
    ClientSpec(
        name="httpx2-async",
        summary="httpx2 (httpx's maintained fork): one AsyncClient, asyncio.gather, the httpx-async settings",
        command=("{python}", "-m", "clients.httpx2_client", *HTTPX_CLIENT[3:], "async"),
        concurrent=True,
        http2_flags=HTTPX_H2,
        default=False,
    ),
)


@dataclass(frozen=True)
class Catalog:
    """The entries a run can choose from: the built-in ones plus any from a file."""

    servers: tuple[ServerSpec, ...]
    clients: tuple[ClientSpec, ...]
    targets: tuple[TargetSpec, ...] = ()
    """The user's own servers (``[[target]]``): never started, only measured with ``--target``."""

    @property
    def servers_by_name(self) -> dict[str, ServerSpec]:
        return {s.name: s for s in self.servers}

    @property
    def clients_by_name(self) -> dict[str, ClientSpec]:
        return {c.name: c for c in self.clients}

    @property
    def targets_by_name(self) -> dict[str, TargetSpec]:
        return {t.name: t for t in self.targets}

    def with_file(self, path: Path) -> Catalog:
        """This catalog plus the ``[[server]]`` and ``[[client]]`` tables of a TOML file.

        Any mistake is one ``UsageError`` line naming the file, the entry and the field."""
        where = f"--catalog {str(path)!r}"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read {where}: {exc}") from exc
        unknown = set(data) - {"server", "client", "target"}
        if unknown:
            raise UsageError(f"{where}: unknown tables {sorted(unknown)}; use [[server]], [[client]] and [[target]]")
        servers = tuple(_entries(ServerSpec, data, "server", path))
        clients = tuple(_entries(ClientSpec, data, "client", path))
        targets = tuple(_entries(TargetSpec, data, "target", path))
        names = [e.name for e in (*self.servers, *self.clients, *self.targets, *servers, *clients, *targets)]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise UsageError(f"{where}: names already taken: {', '.join(dupes)}")
        return Catalog(self.servers + servers, self.clients + clients, self.targets + targets)

    def with_target(self, name: str, capacity: int, reason: str = "declared with --capacity") -> Catalog:
        """This catalog plus a ``--target`` the user declared with ``--capacity``: an entry
        that is never started, so the generic claim (G1), the sweep and the load model
        judge it against its declared k as any catalog server."""
        entry = ServerSpec(
            name=name,
            summary="a server the harness did not start (--target)",
            command=("(not started by the harness)", "{fd}"),
            capacity=capacity,
            capacity_reason=reason,
            default=False,
        )
        return Catalog((*self.servers, entry), self.clients, self.targets)


def _entries(kind: type[_Entry] | type[TargetSpec], data: Mapping[str, Any], table: str, path: Path) -> list[Any]:
    where = f"--catalog {str(path)!r}"
    raws = data.get(table, [])
    if not isinstance(raws, list) or not all(isinstance(raw, dict) for raw in raws):
        name = raws.get("name") if isinstance(raws, dict) else None
        entry = f"{table} {name!r}" if isinstance(name, str) else table
        raise UsageError(f"{where}: {entry}: [{table}] is not an array of tables; write [[{table}]] before each entry")
    return [_entry(kind, raw, index, table, path) for index, raw in enumerate(raws)]


def _entry(
    kind: type[_Entry] | type[TargetSpec], raw: dict[str, Any], index: int, table: str, path: Path
) -> _Entry | TargetSpec:
    name = raw.get("name")
    label = f"{table} {name!r}" if isinstance(name, str) and name else f"{table} #{index + 1}"
    values = dict(raw)
    if isinstance(values.get("command"), list):
        # {catalog_dir}: the TOML file's folder, so a catalog can ship its own scripts
        folder = str(path.resolve().parent)
        values["command"] = [p.replace("{catalog_dir}", folder) if isinstance(p, str) else p
                             for p in values["command"]]  # fmt: skip
    values.setdefault("summary", name if isinstance(name, str) else "")
    try:
        return kind.model_validate(values)
    except ValidationError as exc:
        raise UsageError(f"--catalog {str(path)!r}: {label}: {validation_text(exc, kind)}") from None


def validation_text(exc: ValidationError, kind: type[BaseModel]) -> str:
    """Pydantic's errors on one line: ``field: message``, joined by ``; ``."""
    parts = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key; known: {', '.join(kind.model_fields)}"
        elif error["type"] in ("tuple_type", "list_type"):
            message = 'Input should be a list (a TOML array), e.g. ["a", "b"]'
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


CATALOG = Catalog(SERVERS, CLIENTS)
