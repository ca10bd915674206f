"""Evidence with no code change: a server's process tree, sampled while batches run.

``--server-pid PID`` names a server the harness did not start, on this host (its
master process for gunicorn or ``uvicorn --workers``). A background thread reads
the process and its descendants every ``INTERVAL_S``: how many processes and
threads the tree has (the most seen), and its CPU time (user + system). Between two
readings (``since_last``, called as each batch line arrives) the tree's CPU seconds
over the wall seconds is its parallelism, as the handlers' own CPU stamps give it.

What sampling cannot see: which requests were in flight at once, or which thread
served which request; those need the middleware (``middleware/``). psutil reads CPU
times in clock ticks (10 ms here), so a batch of waiting handlers shows little or
no CPU, and a worker that exits between two readings takes its last CPU with it.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from time import monotonic
from typing import Any

import psutil

INTERVAL_S = 0.02
RESCAN_S = 0.5
"""The tree's members are found again this often (a worker may be replaced)."""


@dataclass(frozen=True)
class ProcessTree:
    """A process the harness did not start and its descendants, as a group to sample
    (``ManagedProcess.group`` gives the same for a server the harness started)."""

    pid: int

    def group(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []


@dataclass(frozen=True)
class TreeSample:
    """A process tree between two readings."""

    pid: int
    processes: int
    """The most processes the tree had (the named one and its descendants)."""
    threads: int
    """The most threads, summed over those processes."""
    cpu_s: float
    """CPU seconds the tree used between the readings."""
    wall_s: float

    @property
    def parallelism(self) -> float | None:
        return self.cpu_s / self.wall_s if self.wall_s > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"parallelism": self.parallelism}


class TreeSampler:
    """Samples ``pid`` and its descendants in the background; a context manager."""

    def __init__(self, pid: int, *, interval_s: float = INTERVAL_S) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._members: list[psutil.Process] = []
        self._scanned = 0.0
        self._cpu: dict[int, float] = {}
        """Each member's CPU seconds at its last reading (kept for members that exit)."""
        self._procs = self._threads = 0
        self._mark_cpu = 0.0
        self._mark_at = monotonic()

    def _scan(self) -> None:
        self._members = ProcessTree(self.pid).group()
        self._scanned = monotonic()

    def _read(self) -> None:
        if monotonic() - self._scanned > RESCAN_S or not self._members:
            self._scan()
        procs = threads = 0
        for p in self._members:
            try:
                with p.oneshot():
                    cpu = p.cpu_times()
                    n = p.num_threads()
            except psutil.Error:
                continue
            procs += 1
            threads += n
            with self._lock:
                self._cpu[p.pid] = cpu.user + cpu.system
        with self._lock:
            self._procs = max(self._procs, procs)
            self._threads = max(self._threads, threads)

    def _total_cpu(self) -> float:
        with self._lock:
            return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._read()

    def __enter__(self) -> TreeSampler:
        self._read()
        self._mark_cpu, self._mark_at = self._total_cpu(), monotonic()
        with self._lock:
            self._procs = self._threads = 0
        self._thread = threading.Thread(target=self._run, name="pid-tree-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def since_last(self) -> TreeSample:
        """The tree since the previous call (or since sampling began), read once more now."""
        self._read()
        cpu, at = self._total_cpu(), monotonic()
        with self._lock:
            procs, threads = self._procs, self._threads
            self._procs = self._threads = 0
        sample = TreeSample(self.pid, procs, threads, max(cpu - self._mark_cpu, 0.0), at - self._mark_at)
        self._mark_cpu, self._mark_at = cpu, at
        return sample
