"""``python -m harness serve NAME``: one catalog server in the foreground."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.cli.options import (
    DEFAULT_DELAY_S,
    build_go,
    delay,
    load_catalog,
)
from harness.core.errors import ServerError, UsageError
from harness.core.serving import HOST, check_host, check_port_free, is_loopback, running_server, url_host

SERVE_PORT = 8000


def cmd_serve(args: argparse.Namespace) -> int:
    servers = load_catalog(args).servers_by_name
    if args.name not in servers:
        raise UsageError(f"unknown server {args.name!r}; valid: {', '.join(servers)}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    spec = servers[args.name]
    host = check_host(args.host)
    check_port_free(args.port, host)
    go = build_go([spec])
    logs = Path(tempfile.mkdtemp(prefix="harness-serve-"))
    with running_server(spec, delay_s=delay(args.delay), logs_dir=logs, go=go, port=args.port, host=host) as running:
        print(f"{spec.name} is serving at {running.url} (D = {args.delay:g} s); log: {running.proc.log_path}")
        if not is_loopback(host):
            port = running.url.rstrip("/").rsplit(":", 1)[1]
            where = "every address of this machine" if host in ("0.0.0.0", "::") else host
            print(
                f"listening on {where}, port {port}: reachable from outside loopback (other machines, namespaces); "
                f"measure it from there with: python -m harness compare --target http://{url_host(host)}:{port}/ "
                f"--as {spec.name}"
            )
        print(f"try: curl '{running.url}?client=A'   stop: Ctrl-C", flush=True)
        try:
            while (code := running.proc.poll()) is None:
                time.sleep(0.2)
        except KeyboardInterrupt:
            print(f"\nstopping {spec.name}", flush=True)
            return 0
        raise ServerError(f"{spec.name} exited with status {code}; last lines of its log:\n{running.proc.log_tail()}")


def add_parser(sub: Any) -> None:
    """Register ``serve`` on the CLI's subcommands."""
    serve = sub.add_parser("serve", help="run one catalog server in the foreground")
    serve.add_argument("name", help="server name (see `list`)")
    serve.add_argument("--port", type=int, default=SERVE_PORT, help="port to listen on (0: any free one)")
    serve.add_argument("--host", default=HOST,
                       help=f"IP address to listen on (default {HOST}, loopback only); another address, or 0.0.0.0 "
                       "for all, makes the server reachable from other machines")  # fmt: skip
    serve.add_argument("--delay", type=float, default=DEFAULT_DELAY_S, help="D, seconds each request is held")
    serve.add_argument("--catalog", help="TOML file with more [[server]] entries")
    serve.set_defaults(run=cmd_serve)
