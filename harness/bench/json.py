"""``bench.json``: the bench's figures for machines, with a schema version."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.bench.runner import BenchResult
from harness.core.exporting import clean, provenance_and_environment
from harness.core.records import SCHEMAS


class BenchJsonExporter:
    filename = "bench.json"

    def render(self, result: BenchResult) -> str:
        eff, warm, cold = result.efficiency, result.whole_run("warm"), result.whole_run("cold")
        data: dict[str, Any] = {
            "schema": SCHEMAS["bench"],
            "overhead": [asdict(o) for o in result.overhead],
            "overhead_by_server": [asdict(o) for o in result.overhead_by_server],
            "split": result.split,
            "efficiency": eff.efficiency if eff else None,
            "ideal_s": eff.ideal_s if eff else None,
            "measure_s": eff.measure_s if eff else None,
            "breakdown": eff.to_dict() if eff else None,
            "efficiency_source": result.efficiency_source,
            "cold_s": cold.wall_s if cold else None,
            "warm_s": warm.wall_s if warm else None,
            "whole_runs": [
                {**{k: v for k, v in asdict(w).items() if k != "breakdown"}, "outside_harness_s": w.outside_harness_s}
                for w in result.whole
            ],
            "n1000_ratio": result.scale.ratio if result.scale else None,
            "scale": {**asdict(result.scale), "ratio": result.scale.ratio} if result.scale else None,
            "targets": [asdict(t) for t in result.targets()],
            "parts": [asdict(p) for p in result.parts],
            "bench_s": result.bench_s,
            "plan": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result.plan).items()},
            **provenance_and_environment(result.environment),
        }
        return json.dumps(clean(data), indent=2) + "\n"
