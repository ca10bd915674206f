"""One run session on disk: the raw records as they arrive, and the reports written from them.

Compare and sweep both keep their records the same way, through ``RunSession``:
each record is appended to a raw JSONL file and flushed at once, so an interrupted
or crashed run loses at most the batch in progress; the report files are
rewritten from the records at checkpoints and once more at the end, marked partial
until the run completes (``running``), and say what stopped a run that did not.
What a session records (pairings, points) and how its report is built are the
feature's; the session owns the raw file, the partial/interrupted state, the
checkpoints and the final export.

A checkpoint can be written in the background (``checkpoint_in_background``), off
the measuring path: the caller starts the next server meanwhile, and ``settle``
waits for the write before anything is measured again. Every later checkpoint and
the final report settle first, so the files on disk are always the newest ones.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.core.catalog import CATALOG, Catalog
from harness.core.process import Terminated, signal_name


def why_stopped(exc: BaseException) -> str:
    """What ended a run early, for the partial report: Ctrl-C, a signal, or an error."""
    if isinstance(exc, KeyboardInterrupt):
        return "Ctrl-C"
    if isinstance(exc, Terminated):
        return signal_name(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass
class RunSession:
    """A run's records on disk as they arrive, and whether the run completed or what stopped it."""

    RAW_FILE: ClassVar[str] = "batches.jsonl"
    """Every record as it is measured, one JSON object a line, flushed at once."""

    out_dir: Path
    settings: dict[str, Any]
    environment: dict[str, Any]
    catalog: Catalog = CATALOG
    complete: bool = False
    interrupted: str = ""
    origin: float = field(default_factory=time.perf_counter)
    """When the measurement began (``perf_counter``)."""

    def __post_init__(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.out_dir / self.RAW_FILE, "w", encoding="utf-8")  # noqa: SIM115
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None

    def append(self, record: Any) -> None:
        """Put one record (a dataclass) on disk at once."""
        self._raw.write(json.dumps(asdict(record)) + "\n")
        self._raw.flush()

    def checkpoint(self, write: Callable[[], object]) -> None:
        """Rewrite the report (``write``) with the run's duration so far in its settings."""
        self.settle()
        self.settings["duration_s"] = time.perf_counter() - self.origin
        write()

    def checkpoint_in_background(self, write: Callable[[], object]) -> None:
        """Start rewriting the report in a thread and return at once. Nothing may be
        recorded until ``settle`` (the report reads the records as it is built)."""
        self.settle()
        self.settings["duration_s"] = time.perf_counter() - self.origin

        def run() -> None:
            try:
                write()
            except BaseException as exc:  # handed to the thread that settles
                self._write_error = exc

        self._writer = threading.Thread(target=run, name="report-checkpoint", daemon=True)
        self._writer.start()

    def settle(self) -> None:
        """Wait for a checkpoint written in the background; raise what it raised."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.join()
        error, self._write_error = self._write_error, None
        if error is not None:
            raise error

    @contextmanager
    def running(self, finish: Callable[[], object]) -> Iterator[None]:
        """Measure inside; the run is complete if the body returns, else interrupted (and why).

        Either way ``finish`` writes the final report, and the raw files are closed.
        """
        try:
            yield
            self.complete = True
        except BaseException as exc:
            self.interrupted = why_stopped(exc)
            raise
        finally:
            try:
                try:
                    self.settle()
                finally:
                    finish()
            finally:
                self.close()

    def close(self) -> None:
        self._raw.close()
