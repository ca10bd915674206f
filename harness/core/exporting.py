"""What every feature's exporters share: the exporter protocol, ``write_all`` (each
file put in place atomically), JSON cleaning, and the table and block helpers.

Each feature renders its own reports (``harness.compare.markdown``,
``harness.sweep.json``, ...); ``harness.export`` keys them by report kind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from harness.core.files import write_text
from harness.core.frames import number

if TYPE_CHECKING:
    import pandas as pd

R = TypeVar("R", contravariant=True)


class Exporter(Protocol[R]):
    """One output format: a file name and a renderer (for one kind of report)."""

    filename: str

    def render(self, report: R) -> str: ...


def write_all(report: R, out_dir: Path, exporters: Sequence[Exporter[R]]) -> list[Path]:
    """Render ``report`` with every exporter and put each file in place."""
    paths = []
    for exporter in exporters:
        path = out_dir / exporter.filename
        write_text(path, exporter.render(report))
        paths.append(path)
    return paths


def clean(value: Any) -> Any:
    """A value as JSON carries it: NaN and infinity (not measured, no limit) become null,
    numpy scalars Python ones; dicts, lists and tuples are cleaned all through."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item"):
        return clean(value.item())
    if value is None or value.__class__.__name__ == "NAType":
        return None
    return value


def provenance_and_environment(env: dict[str, Any]) -> dict[str, Any]:
    """The report's ``provenance`` (which commit, dirty or not, the command, when) at
    the top level, and the environment without it: every report carries both."""
    rest = {k: v for k, v in env.items() if k != "provenance"}
    return {"provenance": env.get("provenance"), "environment": rest}


def records(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    columns = [c for c in frame.columns if c not in drop]
    return [{str(k): clean(v) for k, v in row.items()} for row in frame[columns].to_dict(orient="records")]


def table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


def is_measured(value: Any) -> bool:
    return number(value) is not None


def environment_rows(env: dict[str, Any]) -> list[tuple[str, str]]:
    """The machine and software a run measured on; every report starts its block with these."""
    return [
        ("date", env["date"]),
        ("OS", env["os"]),
        ("CPU", f"{env['cpu_count']} x {env['cpu_model']}"),
        ("cores (usable)", str(env.get("cores", env["cpu_count"]))),
        ("load average at start", " ".join(map(str, env["load_average"]))),
        ("Python", env["python"]),
        ("Go", env["go"]),
        ("packages", ", ".join(f"{k} {v}" for k, v in env["packages"].items())),
        *provenance_rows(env.get("provenance") or {}),
    ]


def provenance_rows(prov: dict[str, Any]) -> list[tuple[str, str]]:
    """Which code made the report, for a reader to check out and rerun."""
    if not prov:
        return [("commit", "not recorded")]
    dirty = {True: " **with uncommitted changes**", False: "", None: " (could not tell whether the tree was clean)"}
    return [("commit", f"`{prov['commit']}`{dirty[prov.get('dirty')]}"), ("created", prov["created"])]


def work_text(settings: dict[str, Any]) -> str:
    """What the handlers did: waited, or computed the calibrated loop (compare and sweep settings alike)."""
    cal = settings.get("calibration")
    if settings.get("work", "wait") != "cpu" or not cal:
        return "waiting, as in the article"
    go = f", Go {cal['go_iterations']:,} rounds ({cal['go_call_s']:.3f} s)" if cal.get("go_iterations") else ""
    return (
        f"computing: the same loop in every handler, calibrated at start to one call = D on one core: "
        f"Python {cal['python_iterations']:,} rounds ({cal['python_call_s']:.3f} s){go}"
    )
