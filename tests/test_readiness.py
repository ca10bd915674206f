"""Readiness from a server's log: the port is read from this start's output only."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from harness.core.process import ManagedProcess
from harness.core.readiness import port_from_log

PATTERN = re.compile(r"listening on port (\d+)")


def printer(port: int, log: Path) -> ManagedProcess:
    code = f"import time; print('listening on port {port}', flush=True); time.sleep(30)"
    return ManagedProcess([sys.executable, "-c", code], name="printer", log_path=log, env=dict(os.environ))


def test_port_comes_from_this_start_not_an_earlier_one(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with printer(1111, log) as first:
        assert port_from_log(first, PATTERN, timeout_s=10) == 1111
    with printer(2222, log) as second:  # the same log file, appended to
        assert port_from_log(second, PATTERN, timeout_s=10) == 2222
    assert "1111" in log.read_text() and "2222" in log.read_text()
