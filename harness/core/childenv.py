"""The environment of every process the harness starts: one place, one set of rules.

Inherited variables that would silently change a server are dropped (gunicorn
reads ``WEB_CONCURRENCY``, ``PORT`` and ``GUNICORN_CMD_ARGS``; uvicorn reads
``UVICORN_*``, ``GRANIAN_*``, ``HYPERCORN_*``; proxies must never reroute 127.0.0.1), Go never downloads anything,
Python output is unbuffered, and every child carries ``HARNESS_RUN_ID`` so that
leftovers of a run can be found (the tests do).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from types import MappingProxyType

from harness.core.paths import PYTHON_DIR

RUN_ID = os.environ.get("HARNESS_RUN_ID") or uuid.uuid4().hex[:12]
"""Marks every process of this run; a caller (the tests) may set it to find them."""

GO_ENV = {"GOTOOLCHAIN": "local", "GOPROXY": "off", "CGO_ENABLED": "0", "GOFLAGS": "-trimpath"}
"""Standard library only, offline: Go must never fetch a toolchain or a module."""

SCRUBBED_ENV = ("WEB_CONCURRENCY", "PORT", "GUNICORN_CMD_ARGS", "DJANGO_SETTINGS_MODULE", "PYTHONPATH")
"""Inherited variables that silently change how a server runs (pitfall 7 of the server notes)."""


SERVER_ENV_PREFIXES = ("UVICORN_", "GRANIAN_", "HYPERCORN_")
"""Servers that read every option from the environment too: a user's settings must not leak in."""


def child_env(
    *,
    delay_s: float = 0.0,
    work: str = "wait",
    cpu_iterations: int = 0,
    extra: Mapping[str, str] = MappingProxyType({}),
) -> dict[str, str]:
    """The environment of a process the harness starts."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SCRUBBED_ENV
        and not k.startswith(("UVICORN_", "GRANIAN_", "HYPERCORN_"))
        and "proxy" not in k.lower()
    }
    env.update(GO_ENV)
    env.update(
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(PYTHON_DIR),
        PYTHONDONTWRITEBYTECODE="1",
        HARNESS_DELAY_S=repr(delay_s),
        HARNESS_WORK=work,
        HARNESS_CPU_ITERATIONS=str(cpu_iterations),
        HARNESS_RUN_ID=RUN_ID,
        DJANGO_RUNSERVER_HIDE_WARNING="true",
    )
    env.update(dict(extra))
    return env
