"""The run's records as they arrive, kept safe on disk after every batch.

``RunResults`` owns the pairings of a run. Each finished batch is appended to
``batches.jsonl`` and flushed at once, so an interrupted or crashed run loses at
most the batch in progress; the report files are rewritten from the records after
every server and once more at the end, marked partial until the run completes.
Phases of the harness's own time go to ``phases.jsonl`` the same way, so even the
last report rewrite, which the report cannot contain, is on record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.catalog import CATALOG, Catalog
from harness.model import BatchRecord, Pairing, Phase, PhaseKind, Status


@dataclass
class RunResults:
    out_dir: Path
    settings: dict[str, Any]
    environment: dict[str, Any]
    catalog: Catalog = CATALOG
    pairings: dict[tuple[str, str], Pairing] = field(default_factory=dict)
    complete: bool = False
    interrupted: str = ""
    phases: list[Phase] = field(default_factory=list)
    origin: float = field(default_factory=time.perf_counter)
    """When the measurement began (``perf_counter``); phases are relative to it."""

    def __post_init__(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.out_dir / "batches.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._phases = open(self.out_dir / "phases.jsonl", "w", encoding="utf-8")  # noqa: SIM115

    def plan(self, server: str, client: str) -> None:
        self.pairings[(server, client)] = Pairing(server, client)

    def add_batch(self, batch: BatchRecord) -> None:
        self.pairings[(batch.server, batch.client)].batches.append(batch)
        self._raw.write(json.dumps(asdict(batch)) + "\n")
        self._raw.flush()

    def add_phase(self, kind: PhaseKind, start: float, *, server: str = "", client: str = "") -> None:
        """Record a phase that began at ``start`` (``perf_counter``) and ends now."""
        phase = Phase(kind, start - self.origin, time.perf_counter() - self.origin, server, client)
        self.phases.append(phase)
        if not self._phases.closed:
            self._phases.write(json.dumps(asdict(phase)) + "\n")
            self._phases.flush()

    @contextmanager
    def timed(self, kind: PhaseKind, *, server: str = "", client: str = "") -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add_phase(kind, start, server=server, client=client)

    def finish(self, server: str, client: str, status: Status, reason: str = "") -> None:
        pairing = self.pairings[(server, client)]
        pairing.status, pairing.reason = status, reason

    def failed(self) -> list[Pairing]:
        return [p for p in self.pairings.values() if p.status == "failed"]

    def close(self) -> None:
        self._raw.close()
        self._phases.close()
