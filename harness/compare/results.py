"""The compare run's records: its pairings, batch by batch, and the harness's own phases.

``RunResults`` is the compare run's session (``core.session``): each finished batch
goes to ``batches.jsonl`` at once. Phases of the harness's own time go to
``phases.jsonl`` the same way, so even the last report rewrite, which the report
cannot contain, is on record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from harness.core.records import BatchRecord, Pairing, Phase, PhaseKind, Status
from harness.core.session import RunSession


@dataclass
class RunResults(RunSession):
    pairings: dict[tuple[str, str], Pairing] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._phases = open(self.out_dir / "phases.jsonl", "w", encoding="utf-8")  # noqa: SIM115

    def plan(self, server: str, client: str) -> None:
        self.pairings[(server, client)] = Pairing(server, client)

    def add_batch(self, batch: BatchRecord) -> None:
        self.pairings[(batch.server, batch.client)].batches.append(batch)
        self.append(batch)

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
        super().close()
        self._phases.close()
