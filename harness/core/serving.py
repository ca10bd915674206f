"""Run servers and clients: every pairing of a plan, batch by batch.

For each server: start it on 127.0.0.1 (an inherited socket, or port 0 read from
its log), wait until ``/health`` answers, run every client against it (one client
process runs the warm-up batch and then R counted batches), stop it with all its
children. A failing server or client fails only the pairings it touches.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from harness.core.calibration import Calibration
from harness.core.catalog import ClientSpec, ServerSpec
from harness.core.childenv import child_env
from harness.core.errors import ClientError, PairingError, ServerError, UsageError
from harness.core.gobuild import GoBuild
from harness.core.paths import PYTHON_DIR
from harness.core.process import ManagedProcess, describe_exit
from harness.core.protocol import is_batch_line
from harness.core.readiness import port_from_log, wait_until_ready

HOST = "127.0.0.1"
"""Where servers listen unless told otherwise: loopback, unreachable from other machines."""


def check_host(host: str, flag: str = "--host") -> str:
    """``host`` as an IP address literal (no names: nothing is resolved), or a one-line ``UsageError``."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise UsageError(f"{flag} must be an IP address (e.g. 127.0.0.1, 0.0.0.0), got {host!r}") from None


def url_host(host: str) -> str:
    """``host`` as it goes into a URL: IPv6 in brackets."""
    return f"[{host}]" if ":" in host else host


def reachable_host(host: str) -> str:
    """The address the harness itself uses to reach a server bound to ``host``
    (a wildcard bind is reached over loopback)."""
    if host == "0.0.0.0":
        return HOST
    if host == "::":
        return "::1"
    return host


def is_loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


ALLOWED_HOSTS_ENV = "HARNESS_ALLOWED_HOSTS"
"""The Host header values a server started on ``host`` answers beyond loopback (Django's
``ALLOWED_HOSTS``, in ``python/servers/django_project/settings.py``), comma-separated."""


def allowed_hosts(host: str) -> list[str]:
    """The addresses a server bound to ``host`` is reached at, as Host header values: the
    address itself, or for a wildcard bind every address of this machine of that family.
    Loopback is always allowed by the settings, so it is left out."""
    addr = ipaddress.ip_address(host)
    if addr.is_unspecified:
        family = socket.AF_INET if addr.version == 4 else socket.AF_INET6
        found = {a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs
                 if a.family == family}  # fmt: skip
        if addr.version == 6:  # a wildcard IPv6 socket takes IPv4 too (unless IPV6_V6ONLY)
            found |= {
                a.address for addrs in psutil.net_if_addrs().values() for a in addrs if a.family == socket.AF_INET
            }
    else:
        found = {str(addr)}
    found = {a for a in found if not ipaddress.ip_address(a).is_loopback}
    return sorted(f"[{a}]" if ":" in a else a for a in found)


LISTEN_BACKLOG = 4096
"""Connections the kernel queues before the server accepts them (capped by
``net.core.somaxconn``). Python's default is 128: at N = 1000 the other SYNs were
dropped and retried a second later, so batches took 2.1 x D instead of ~1 x D
(measured by ``nox -s bench``). Go's ``net.Listen`` asks for somaxconn too."""

CLIENT_EXIT_WAIT_S = 10.0
"""How long a client whose output ended may take to exit before it counts as hung."""


@dataclass(frozen=True)
class RunningServer:
    spec: ServerSpec
    proc: ManagedProcess
    url: str
    ready_s: float
    """From the process's start until it answered its readiness check."""


def _python_rounds(calibration: Calibration | None) -> int:
    return calibration.python_iterations if calibration else 0


HTTP_VERSIONS = ("1.1", "2")
"""``--http``: the article's HTTP/1.1, or HTTP/2 with prior knowledge (h2c), N streams on one connection."""
CONNECTIONS = ("reuse", "fresh")


def fill(template: tuple[str, ...], values: Mapping[str, object]) -> list[str]:
    return [part.format(**values) for part in template]


def seconds(value: float) -> str:
    """Seconds as plain decimals, never an exponent: Go's durations reject '1e-05s'."""
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def base_values(
    go: GoBuild | None,
    *,
    work: str = "wait",
    calibration: Calibration | None = None,
    connections: str = "reuse",
    host: str = HOST,
    http: str = "1.1",
) -> dict[str, object]:
    values: dict[str, object] = {
        "python": sys.executable,
        "host": host,
        "work": work,
        "go_cpu_iterations": calibration.go_iterations if calibration else 0,
        "connections": connections,
        "http": http,
    }
    if go is not None:
        values.update({f"go_{name}": path for name, path in go.binaries.items()})
    return values


def _listen(port: int, host: str = HOST) -> socket.socket:
    """A listening socket for the server to inherit.

    The backlog is ``LISTEN_BACKLOG``, as large as Go's ``net.Listen`` and the
    servers' own binds ask for; Python's default (128) would drop SYNs once ~128
    clients connect at once.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"cannot listen on {host}: it is not an address of this machine (see `ip addr`)") from exc
        raise UsageError(
            f"port {port} on {host} is taken{_holder(port)} ({os.strerror(exc.errno or 0)}): stop what holds it, "
            "or pick another port with --port (0 picks a free one)"
        ) from exc


def _holder(port: int) -> str:
    """' by pid 123 (uvicorn)' when the listener can be seen, else ''."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return f" by pid {conn.pid} ({psutil.Process(conn.pid).name()})"
    except psutil.Error:
        pass
    return ""


def check_port_free(port: int, host: str = HOST) -> None:
    """Raise a one-line ``UsageError`` when ``port`` is taken on ``host`` (0 is always free)."""
    if port:
        _listen(port, host).close()


@contextmanager
def running_server(
    spec: ServerSpec,
    *,
    delay_s: float,
    logs_dir: Path,
    go: GoBuild | None,
    port: int = 0,
    work: str = "wait",
    calibration: Calibration | None = None,
    host: str = HOST,
    cpus: frozenset[int] | None = None,
) -> Iterator[RunningServer]:
    """Start ``spec`` on ``host`` (127.0.0.1 unless asked), wait until it answers, and stop it on exit.

    ``cpus``: the CPUs the server (and every process it starts) may run on."""
    values = base_values(go, work=work, calibration=calibration, host=host) | {
        "delay": seconds(delay_s),
        "port": port,
        "fd": -1,
    }
    sock = None
    if spec.listen == "fd":
        sock = _listen(port, host)
        port = int(sock.getsockname()[1])
        values.update(fd=sock.fileno(), port=port)
    else:
        check_port_free(port, host)  # fail early, in one line, when the port is taken
    proc = ManagedProcess(
        fill(spec.command, values),
        name=spec.name,
        log_path=logs_dir / f"{spec.name}.log",
        env=child_env(
            delay_s=delay_s,
            work=work,
            cpu_iterations=_python_rounds(calibration),
            extra={ALLOWED_HOSTS_ENV: ",".join(allowed_hosts(host)), **dict(spec.env)},
        ),
        cwd=PYTHON_DIR,
        pass_fds=(sock.fileno(),) if sock else (),
        cpus=cpus,
    )
    try:
        try:
            proc.start()
        except PairingError as exc:  # a server that cannot start fails its pairings, not the run
            raise ServerError(str(exc)) from exc
        with proc:
            if sock is not None:
                sock.close()  # the server holds its own copy
                sock = None
            bound = port
            if not bound and (pattern := spec.port_regex()):
                bound = port_from_log(proc, pattern, spec.ready_timeout_s)
            url = f"http://{url_host(reachable_host(host))}:{bound}/"
            wait_until_ready(proc, url, spec.ready_timeout_s, http2=spec.h2c == "only")
            # from the process's start, not from when its port was read from the log
            yield RunningServer(spec, proc, url, time.perf_counter() - proc.started_at)
    finally:
        if sock is not None:
            sock.close()


@dataclass(frozen=True)
class MachineWindow:
    """What the whole machine did between two readings of ``/proc/stat`` (via psutil)."""

    busy_cores: float
    """Cores kept busy, by every process and by the host's steal: what was not left for the server."""
    steal_share: float
    """The share of the machine's CPU time the host stole (``steal``): a VM's vCPU
    waiting for a real one. Every process here ran slower for it, unseen by their own
    CPU times."""


class MachineCpu:
    """The machine's CPU between two readings (``/proc/stat`` via psutil).

    Steal time counts as busy: the hypervisor gave that core to someone else."""

    def __init__(self) -> None:
        self.times, self.at = psutil.cpu_times(), time.perf_counter()

    @staticmethod
    def _total(t: Any) -> float:
        """Every CPU second of the reading; guest time is already in user and nice."""
        return float(sum(t)) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)

    @classmethod
    def _busy(cls, t: Any) -> float:
        return cls._total(t) - getattr(t, "idle", 0.0) - getattr(t, "iowait", 0.0)

    def since_last(self) -> MachineWindow | None:
        """The window since the last call (or the start); ``None`` when no time passed."""
        times, at = psutil.cpu_times(), time.perf_counter()
        before, self.times, start, self.at = self.times, times, self.at, at
        total = self._total(times) - self._total(before)
        if at <= start or total <= 0:
            return None
        steal = getattr(times, "steal", 0.0) - getattr(before, "steal", 0.0)
        return MachineWindow((self._busy(times) - self._busy(before)) / (at - start), max(0.0, steal) / total)


def request_timeout_s(delay_s: float, n_clients: int) -> float:
    """Per request: a serial server answers the last one after N x D, so never less."""
    return 2 * n_clients * delay_s + 30


def batch_timeout_s(spec: ClientSpec, delay_s: float, n_clients: int) -> float:
    """How long to wait for one batch line before calling the client hung."""
    if spec.timeout_s is not None:
        return spec.timeout_s
    return request_timeout_s(delay_s, n_clients) + 30


def next_batch_line(proc: ManagedProcess, wait_s: float) -> tuple[float, str] | None:
    """The client's next batch line and when it arrived, skipping anything else it
    prints; ``None`` when its output ends first, ``TimeoutError`` after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    item = proc.next_line(wait_s)
    while item is not None and not is_batch_line(item[1]):
        item = proc.next_line(deadline - time.monotonic())
    return item


def client_ended(proc: ManagedProcess, where: str) -> ClientError:
    """The error for a client whose output ended before its batches did."""
    try:
        how = describe_exit(proc.wait(CLIENT_EXIT_WAIT_S))
    except TimeoutError:
        how = "closed its output but kept running; it was stopped"
    return ClientError(
        f"{proc.name} exited ({how}) {where}; last lines of its log ({proc.log_path}):\n{proc.log_tail()}"
    )


def server_died(server: RunningServer, where: str) -> ServerError | None:
    """The error for a server that is no longer running, or ``None`` while it is."""
    if (code := server.proc.poll()) is None:
        return None
    return ServerError(
        f"{server.spec.name} died {where} ({describe_exit(code)}); last lines of its log "
        f"({server.proc.log_path}):\n{server.proc.log_tail()}"
    )
