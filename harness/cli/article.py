"""``python -m harness article``: the article, literally (Go server on :8000, its verbatim client)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from harness.cli.options import (
    build_go,
    delay,
)
from harness.core.catalog import CATALOG
from harness.core.childenv import child_env
from harness.core.errors import ServerError
from harness.core.process import ManagedProcess, describe_exit
from harness.core.protocol import is_batch_line
from harness.core.serving import check_port_free, request_timeout_s, running_server

ARTICLE_PORT = 8000
"""The article's port: its client is hard-wired to http://localhost:8000/."""


def cmd_article(args: argparse.Namespace) -> int:
    """The article, literally: the Go server and the verbatim client on port 8000."""
    check_port_free(args.port)
    spec = CATALOG.servers_by_name["go-nethttp"]
    go = build_go([spec])
    assert go is not None
    logs = Path(tempfile.mkdtemp(prefix="harness-article-"))
    with running_server(spec, delay_s=delay(args.delay), logs_dir=logs, go=go, port=args.port) as running:
        port = int(running.url.rsplit(":", 1)[1].strip("/"))
        if port == ARTICLE_PORT:
            argv = [str(go.binaries["article"])]
            print(f"go/server on {running.url} (D = {args.delay:g} s); the article's client, verbatim:", flush=True)
        else:
            url = f"http://localhost:{port}/"
            argv = [str(go.binaries["client"]), "-url", url, "-clients", "5"]
            print(f"go/server on {running.url} (D = {args.delay:g} s); the verbatim client only knows port "
                  f"{ARTICLE_PORT}, so go/client -url {url} stands in:", flush=True)  # fmt: skip
        client = ManagedProcess(
            argv,
            name="article-client",
            log_path=logs / "client.log",
            env=child_env(delay_s=args.delay),
            capture_stdout=True,
            merge_stderr=True,
        )
        with client:
            while (item := client.next_line(request_timeout_s(args.delay, 5))) is not None:
                if not is_batch_line(item[1]):
                    print(item[1], end="", flush=True)
            code = client.wait(10)
    print(flush=True)
    if code != 0:
        raise ServerError(f"the client exited ({describe_exit(code)}); server log: {running.proc.log_path}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``article`` on the CLI's subcommands."""
    article = sub.add_parser("article", help="the article literally: Go server on :8000, its verbatim client")
    article.add_argument("--port", type=int, default=ARTICLE_PORT, help="port on 127.0.0.1 (default 8000)")
    article.add_argument("--delay", type=float, default=1.0, help="D, seconds the server holds each request")
    article.set_defaults(run=cmd_article)
