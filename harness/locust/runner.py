"""One Locust run on this host: a catalog server, a master and its workers, on loopback.

What ``tests/test_locust.py`` does, as a command a publish plan can run
(``python -m harness locust-run``): the server is the harness's own (started and
stopped by ``harness.core.serving``), Locust's master and workers are children the
harness owns (``ManagedProcess``), and what they leave behind (Locust's CSV, the
workers' evidence lines) is kept beside the report that ``harness.locust.report``
builds from it. Many hosts are docs/many-clients.md's business; this is the one-host
run whose figures the docs may quote.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness.core.catalog import ServerSpec
from harness.core.errors import HarnessError, UsageError
from harness.core.gobuild import GoBuild
from harness.core.paths import PYTHON_DIR, REPO
from harness.core.process import ManagedProcess
from harness.core.serving import running_server

MASTER_GRACE_S = 60.0
"""How long past the run's own time the master may take to quit (spawning, the final CSV)."""


@dataclass(frozen=True)
class LocustPlan:
    server: ServerSpec
    delay_s: float
    users: int
    workers: int
    run_s: int
    clients: int
    out_dir: Path

    def __post_init__(self) -> None:
        # Locust and the server run with cwd=REPO: a relative folder would land in the repository, not here
        object.__setattr__(self, "out_dir", Path(self.out_dir).resolve())

    @property
    def prefix(self) -> Path:
        return self.out_dir / "csv" / "run"

    @property
    def evidence_dir(self) -> Path:
        return self.out_dir / "evidence"


def needs_locust() -> None:
    if importlib.util.find_spec("locust") is None:
        raise UsageError("Locust is not installed: `pip install locust -c constraints.txt`, or run `nox -s locust`")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(plan: LocustPlan, *, go: GoBuild | None) -> None:
    """Serve, run the master and workers to the end, stop everything; the files stay in ``out_dir``."""
    needs_locust()
    for old in [*plan.evidence_dir.glob("*.jsonl"), *plan.prefix.parent.glob("run_*.csv")]:
        old.unlink()  # the report reads every evidence file: start from an empty folder
    logs = plan.out_dir / "logs"
    env = {**os.environ, "HARNESS_BATCH_CLIENTS": str(plan.clients), "HARNESS_EVIDENCE_DIR": str(plan.evidence_dir),
           "HARNESS_RUN_ID": f"locust-{uuid.uuid4().hex[:8]}", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    locust = [sys.executable, "-m", "locust", "-f", str(PYTHON_DIR / "locustfile.py")]
    port = str(_free_port())
    with running_server(plan.server, delay_s=plan.delay_s, logs_dir=logs, go=go) as server:
        master = ManagedProcess(
            [*locust, "--headless", "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
             "--expect-workers", str(plan.workers), "-u", str(plan.users), "-r", str(plan.users),
             "-t", f"{plan.run_s}s", "--csv", str(plan.prefix), "--host", server.url.rstrip("/"), "--only-summary"],
            name="locust-master", log_path=logs / "locust-master.log", env=env, cwd=REPO, grace_s=2,
        )  # fmt: skip
        worker = [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", port]
        workers = [
            ManagedProcess(worker, name=f"worker-{i}", log_path=logs / f"worker-{i}.log", env=env, cwd=REPO, grace_s=2)
            for i in range(plan.workers)
        ]
        plan.prefix.parent.mkdir(parents=True, exist_ok=True)
        master.start()
        try:
            for w in workers:
                w.start()
            try:
                code = master.wait(plan.run_s + MASTER_GRACE_S)
            except TimeoutError:
                raise HarnessError(f"the Locust master did not quit:\n{master.log_tail()}") from None
            if code != 0:
                raise HarnessError(f"the Locust master exited with status {code}:\n{master.log_tail()}")
            for w in workers:  # a worker quits when its master does
                w.wait(10)
        finally:
            for proc in (*workers, master):
                proc.stop()
