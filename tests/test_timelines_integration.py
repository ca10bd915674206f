"""The real compare run draws one timeline per server with a bar per request."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.conftest import CompareRun
from tests.test_integration import CLIENTS, EXPECTED, N

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("server", list(EXPECTED))
def test_timeline_shows_every_request_of_the_last_batches(compare_run: CompareRun, server: str) -> None:
    png = compare_run.out / "pictures" / f"timeline-{server}.png"
    svg = compare_run.out / "pictures" / f"timeline-{server}.svg"
    assert png.stat().st_size > 0
    requests = pd.read_csv(compare_run.out / "requests.csv")
    mine = requests[(requests["server"] == server) & ~requests["warmup"]]
    last = mine[mine["repeat"] == mine.groupby("client")["repeat"].transform("max")]
    assert len(last) == len(CLIENTS) * N
    assert len(re.findall(r'id="request-', svg.read_text())) == len(last)
    assert f"(pictures/timeline-{server}.png)" in (compare_run.out / "report.md").read_text()
