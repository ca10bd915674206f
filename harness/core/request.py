"""The request the clients send to a ``--target`` endpoint, and what counts as its answer.

A catalog server (and a ``--target`` run ``--as`` one) gets the article's request:
``GET <url>?client=NAME``, answered by the article's JSON. Any other endpoint gets
exactly what the user described: the URL as given (any path and query), a method,
headers, a body, and success is a status in ``--expect-status`` (2xx by default).
The clients learn it from one environment variable, ``HARNESS_REQUEST`` (JSON), so
every client reads the same description and a catalog entry's command stays as it is:

    {"method": "POST", "headers": [["Content-Type", "application/json"]],
     "body_file": "/abs/path", "expect": [[200, 299]]}

Every client sends ``Concurrency-Evidence: 1`` (``EVIDENCE_HEADER``) on every request
unless the headers given name it (an operator's token, see ``docs/your-server.md``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import UsageError

REQUEST_ENV = "HARNESS_REQUEST"
EVIDENCE_HEADER = "Concurrency-Evidence"
"""The request header that asks for evidence (value ``1``) and the response header that carries it."""
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DEFAULT_EXPECT = "2xx"
MAX_BODY_BYTES = 16 * 2**20
"""A bigger body is a load test of the upload path, not of concurrency: refused."""
HIDDEN = "(hidden)"
"""What a report says instead of a header's value: headers often carry credentials."""

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True)
class RequestSpec:
    """What the clients send to a ``--target`` that is not run ``--as`` a catalog server."""

    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body_file: str | None = None
    """The body, read from this file by each client once (``--body`` is written to one)."""
    body_bytes: int = 0
    expect: tuple[tuple[int, int], ...] = ((200, 299),)
    """Statuses that count as an answer: inclusive ranges."""
    expect_text: str = DEFAULT_EXPECT

    def accepts(self, status: int) -> bool:
        return any(low <= status <= high for low, high in self.expect)

    def env(self) -> dict[str, str]:
        """The clients' environment variable that describes this request."""
        data = {"method": self.method, "headers": [list(h) for h in self.headers], "body_file": self.body_file,
                "expect": [list(r) for r in self.expect]}  # fmt: skip
        return {REQUEST_ENV: json.dumps(data)}

    def body(self) -> bytes | None:
        return Path(self.body_file).read_bytes() if self.body_file else None

    def http_headers(self) -> dict[str, str]:
        """The headers as sent, with the evidence header unless the user gave their own."""
        given = dict(self.headers)
        if not any(k.lower() == EVIDENCE_HEADER.lower() for k in given):
            given[EVIDENCE_HEADER] = "1"
        return given

    def settings(self) -> dict[str, Any]:
        """What a report says of the request: header values hidden (they may be credentials)."""
        return {
            "method": self.method,
            "headers": [f"{name}: {HIDDEN}" for name, _ in self.headers],
            "body_bytes": self.body_bytes,
            "expect_status": self.expect_text,
        }


def request_env(request: RequestSpec | None) -> dict[str, str]:
    """The clients' environment for ``request``: nothing for the article's request."""
    return request.env() if request is not None else {}


def article_headers() -> dict[str, str]:
    """The headers of the article's request: only the evidence header."""
    return {EVIDENCE_HEADER: "1"}


def parse_expect(text: str) -> tuple[tuple[int, int], ...]:
    """``2xx``, ``200``, ``200,201,3xx`` as inclusive status ranges, or a one-line ``UsageError``."""
    ranges = []
    for part in (p.strip().lower() for p in text.split(",")):
        if re.fullmatch(r"[1-5]xx", part):
            ranges.append((int(part[0]) * 100, int(part[0]) * 100 + 99))
        elif re.fullmatch(r"[1-5]\d\d", part):
            ranges.append((int(part), int(part)))
        else:
            raise UsageError(f"--expect-status takes statuses and classes such as 200, 201 or 2xx, comma-separated; "
                             f"got {text!r}")  # fmt: skip
    return tuple(ranges)


def parse_header(text: str) -> tuple[str, str]:
    """``Name: value`` as a pair, or a one-line ``UsageError``."""
    name, sep, value = text.partition(":")
    if not sep or not _TOKEN.match(name.strip()):
        raise UsageError(f"--header takes 'Name: value', e.g. 'Authorization: Bearer x'; got {text!r}")
    if "\n" in value or "\r" in value:
        raise UsageError(f"--header {name.strip()!r}: a value cannot hold a line break")
    return name.strip(), value.strip()


def request_spec(
    *,
    method: str | None,
    headers: list[str] | None,
    body: str | None,
    body_file: str | None,
    expect: str | None,
    scratch: Path,
) -> RequestSpec:
    """The request the user described; ``--body`` text is written to ``scratch`` so every
    client reads one file. Each mistake is one ``UsageError`` line."""
    verb = (method or "GET").upper()
    if verb not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)}; got {method!r}")
    if body is not None and body_file is not None:
        raise UsageError("give the body once: --body TEXT or --body-file PATH, not both")
    path: Path | None = None
    if body_file is not None:
        path = Path(body_file).resolve()
        if not path.is_file():
            raise UsageError(f"--body-file {body_file!r} is not a readable file")
    elif body is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        path = scratch / "request-body"
        path.write_bytes(body.encode())
    size = path.stat().st_size if path else 0
    if size > MAX_BODY_BYTES:
        raise UsageError(f"the body is {size} bytes; at most {MAX_BODY_BYTES} are sent")
    pairs = tuple(parse_header(h) for h in headers or ())
    return RequestSpec(
        method=verb,
        headers=pairs,
        body_file=str(path) if path else None,
        body_bytes=size,
        expect=parse_expect(expect or DEFAULT_EXPECT),
        expect_text=expect or DEFAULT_EXPECT,
    )
