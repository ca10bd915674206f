"""The servers and clients of the comparison, as data.

Every entry is one frozen record: the command that runs it (a template filled in by
``runner``), how it gets its socket, and what it is expected to do. Nothing else in
the harness branches on a name; adding a setup is adding an entry here.

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
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from harness.errors import UsageError

GO_BINARIES = {"go_server", "go_client", "go_article"}
SERVER_FIELDS = {"python", "host", "port", "fd", "delay", "work", "go_cpu_iterations"} | GO_BINARIES
CLIENT_FIELDS = {
    "python", "host", "work", "go_cpu_iterations", "url", "clients", "batches", "timeout", "connections"
} | GO_BINARIES  # fmt: skip
"""The placeholders a command template may use (``runner`` fills them)."""


def fields_of(command: tuple[str, ...]) -> set[str]:
    """The placeholders a command template uses."""
    return {name for part in command for _, name, _, _ in string.Formatter().parse(part) if name}


Listen = Literal["fd", "port"]
"""``fd``: the harness binds 127.0.0.1 and the server inherits the socket (no port
race); ``port``: the server binds the port itself and, for port 0, prints it."""


@dataclass(frozen=True)
class ServerSpec:
    name: str
    summary: str
    command: tuple[str, ...]
    listen: Listen = "fd"
    port_pattern: str | None = None
    """Regex with one group that finds the bound port in the log (``listen="port"``)."""
    capacity: int | None = None
    """Requests it can hold at once; ``None`` means no limit short of the machine."""
    capacity_reason: str = ""
    env: tuple[tuple[str, str], ...] = ()
    ready_timeout_s: float = 30.0
    default: bool = True
    """Part of a run that does not name its servers."""

    def port_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.port_pattern) if self.port_pattern else None

    @property
    def needs_go(self) -> bool:
        return bool(fields_of(self.command) & GO_BINARIES)


@dataclass(frozen=True)
class ClientSpec:
    name: str
    summary: str
    command: tuple[str, ...]
    concurrent: bool
    """Whether it sends a batch's requests at once (the sequential baseline does not)."""
    env: tuple[tuple[str, str], ...] = ()
    timeout_s: float | None = None
    """Longest wait for one batch; ``None``: derived from N and D (``runner``)."""

    @property
    def needs_go(self) -> bool:
        return bool(fields_of(self.command) & GO_BINARIES)


GO_SERVER = ("{go_server}", "-fd", "{fd}", "-delay", "{delay}s", "-work", "{work}",
             "-cpu-iterations", "{go_cpu_iterations}")  # fmt: skip
GO_BOUND = 2
"""The semaphore size of ``go-bounded``: small enough that N = 5 shows it (3 x D)."""
DJANGO_WSGI = "servers.django_project.wsgi:application"
GUNICORN = ("{python}", "-m", "gunicorn", "-b", "fd://{fd}")
UVICORN = ("{python}", "-m", "uvicorn", "--host", "{host}", "--port", "{port}")
UVICORN_PORT = r"Uvicorn running on http://[^/]*:(\d+)"
"""uvicorn binds its own port: with ``--fd`` it wraps the socket as AF_UNIX, so
asyncio never sets TCP_NODELAY and every response waits ~40 ms for a delayed ACK
(measured: 6.2x instead of 5.2x for five sequential requests at D = 0.2 s)."""
RUNSERVER = ("{python}", "manage.py", "runserver", "{host}:{port}", "--noreload", "--skip-checks")
RUNSERVER_PORT = r"Starting development server at http://[^/]*:(\d+)/"

SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec(
        name="go-nethttp",
        summary="Go net/http: http.HandleFunc + Serve, one goroutine per connection",
        command=GO_SERVER,
        capacity=None,
        capacity_reason="one goroutine per connection",
    ),
    ServerSpec(
        name="fastapi-async",
        summary="uvicorn, FastAPI `async def` that awaits asyncio.sleep(D)",
        command=(*UVICORN, "servers.fastapi_app:app_async"),
        listen="port",
        port_pattern=UVICORN_PORT,
        capacity=None,
        capacity_reason="awaiting handlers share one event loop",
    ),
    ServerSpec(
        name="fastapi-def",
        summary="uvicorn, FastAPI plain `def` that calls time.sleep(D)",
        command=(*UVICORN, "servers.fastapi_app:app_def"),
        listen="port",
        port_pattern=UVICORN_PORT,
        capacity=40,
        capacity_reason="anyio's default threadpool limiter: 40 threads",
    ),
    ServerSpec(
        name="fastapi-async-blocking",
        summary="uvicorn, FastAPI `async def` that calls time.sleep(D)",
        command=(*UVICORN, "servers.fastapi_app:app_async_blocking"),
        listen="port",
        port_pattern=UVICORN_PORT,
        capacity=1,
        capacity_reason="time.sleep blocks the one event loop",
    ),
    ServerSpec(
        name="django-runserver",
        summary="Django `manage.py runserver` (threaded default), plain `def` view",
        command=RUNSERVER,
        listen="port",
        port_pattern=RUNSERVER_PORT,
        capacity=None,
        capacity_reason="one thread per connection",
    ),
    ServerSpec(
        name="django-nothreading",
        summary="Django `manage.py runserver --nothreading`, same view",
        command=(*RUNSERVER, "--nothreading"),
        listen="port",
        port_pattern=RUNSERVER_PORT,
        capacity=1,
        capacity_reason="one thread serves one connection at a time",
    ),
    ServerSpec(
        name="gunicorn-default",
        summary="gunicorn with its defaults (1 sync worker, 1 thread), same view",
        command=(*GUNICORN, DJANGO_WSGI),
        capacity=1,
        capacity_reason="1 sync worker with 1 thread",
    ),
    ServerSpec(
        name="gunicorn-threads5",
        summary="gunicorn `-w 1 --threads 5` (gthread), same view",
        command=(*GUNICORN, "-w", "1", "--threads", "5", DJANGO_WSGI),
        capacity=5,
        capacity_reason="1 worker x 5 threads",
    ),
    ServerSpec(
        name="gunicorn-workers5",
        summary="gunicorn `-w 5` (5 sync worker processes), same view",
        command=(*GUNICORN, "-w", "5", DJANGO_WSGI),
        capacity=5,
        capacity_reason="5 processes x 1 thread",
    ),
    # Beyond the article: setups people deploy. Not in a run that does not name its
    # servers (the article's matrix); `--servers all` takes them.
    ServerSpec(
        name="uvicorn-workers5",
        summary="uvicorn `--workers 5`, the FastAPI `async def` app (5 processes, an event loop each)",
        command=(*UVICORN, "--workers", "5", "servers.fastapi_app:app_async"),
        listen="port",
        port_pattern=UVICORN_PORT,
        capacity=None,
        capacity_reason="5 event loops, each unbounded for awaiting handlers",
        default=False,
    ),
    ServerSpec(
        name="gunicorn-uvicorn5",
        summary="gunicorn `-k uvicorn_worker.UvicornWorker -w 5`, the FastAPI `async def` app",
        command=(*GUNICORN, "-k", "uvicorn_worker.UvicornWorker", "-w", "5", "servers.fastapi_app:app_async"),
        capacity=None,
        capacity_reason="5 event loops, each unbounded for awaiting handlers",
        default=False,
    ),
    ServerSpec(
        name="django-asgi-async",
        summary="uvicorn (ASGI), Django `async def` view that awaits asyncio.sleep(D)",
        command=(*UVICORN, "servers.django_project.asgi:application"),
        listen="port",
        port_pattern=UVICORN_PORT,
        capacity=None,
        capacity_reason="awaiting views share one event loop",
        default=False,
    ),
    ServerSpec(
        name="go-bounded",
        summary=f"the Go server with handlers bounded by a semaphore (buffered channel) of {GO_BOUND}",
        command=(*GO_SERVER, "-max-inflight", str(GO_BOUND)),
        capacity=GO_BOUND,
        capacity_reason=f"a buffered channel of {GO_BOUND} as a semaphore",
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

CLIENTS: tuple[ClientSpec, ...] = (
    ClientSpec(
        name="go-goroutines",
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
    ),
    ClientSpec(
        name="httpx-async",
        summary="one httpx.AsyncClient, asyncio.gather",
        command=(*HTTPX_CLIENT, "async"),
        concurrent=True,
    ),
    ClientSpec(
        name="httpx-threads",
        summary="one thread per request, one shared httpx.Client",
        command=(*HTTPX_CLIENT, "threads"),
        concurrent=True,
    ),
    ClientSpec(
        name="httpx-sequential",
        summary="one request after another (the naive baseline)",
        command=(*HTTPX_CLIENT, "sequential"),
        concurrent=False,
    ),
)


@dataclass(frozen=True)
class Catalog:
    """The entries a run can choose from: the built-in ones plus any from a file."""

    servers: tuple[ServerSpec, ...]
    clients: tuple[ClientSpec, ...]

    @property
    def servers_by_name(self) -> dict[str, ServerSpec]:
        return {s.name: s for s in self.servers}

    @property
    def clients_by_name(self) -> dict[str, ClientSpec]:
        return {c.name: c for c in self.clients}

    def with_file(self, path: Path) -> Catalog:
        """This catalog plus the ``[[server]]`` and ``[[client]]`` tables of a TOML file."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read --catalog {str(path)!r}: {exc}") from exc
        unknown = set(data) - {"server", "client"}
        if unknown:
            raise UsageError(
                f"--catalog {str(path)!r}: unknown tables {sorted(unknown)}; use [[server]] and [[client]]"
            )
        servers = tuple(_entry(ServerSpec, raw, path) for raw in data.get("server", []))
        clients = tuple(_entry(ClientSpec, raw, path) for raw in data.get("client", []))
        names = [e.name for e in (*self.servers, *self.clients, *servers, *clients)]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise UsageError(f"--catalog {str(path)!r}: names already taken: {', '.join(dupes)}")
        return Catalog(self.servers + servers, self.clients + clients)


def _entry(kind: type[Any], raw: Mapping[str, Any], path: Path) -> Any:
    known = {f.name for f in fields(kind)}
    if unknown := set(raw) - known:
        raise UsageError(f"--catalog {str(path)!r}: {raw.get('name', '?')!r} has unknown keys {sorted(unknown)}")
    values = dict(raw)
    # {catalog_dir}: the TOML file's folder, so a catalog can ship its own scripts
    values["command"] = tuple(str(part).replace("{catalog_dir}", str(path.resolve().parent))
                              for part in values.get("command", ()))  # fmt: skip
    values["env"] = tuple(sorted(dict(values.get("env", {})).items()))
    values.setdefault("summary", values.get("name", ""))
    where = f"--catalog {str(path)!r}: {raw.get('name', '?')!r}"
    try:
        entry = kind(**values)
    except TypeError as exc:
        raise UsageError(f"{where}: {exc}") from exc
    known = SERVER_FIELDS if kind is ServerSpec else CLIENT_FIELDS
    if unknown := fields_of(entry.command) - known:
        raise UsageError(f"{where}: unknown placeholders {sorted(unknown)} in command; known: {sorted(known)}")
    if isinstance(entry, ServerSpec):
        if entry.listen not in ("fd", "port"):
            raise UsageError(f"{where}: listen must be 'fd' or 'port', got {entry.listen!r}")
        needs = {"fd"} if entry.listen == "fd" else {"port"}
        if not needs <= fields_of(entry.command):
            raise UsageError(f"{where}: listen = {entry.listen!r} needs {{{needs.pop()}}} in the command")
        if entry.listen == "port" and not entry.port_pattern:
            raise UsageError(f"{where}: listen = 'port' needs a port_pattern that finds the port in its log")
    return entry


CATALOG = Catalog(SERVERS, CLIENTS)
