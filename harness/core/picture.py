"""The picture a report links to: its type, and how one is written (PNG and SVG, atomically).

Reports and exporters only need ``Picture``; the drawing code (each feature's, e.g.
``harness.sweep.plot``) makes figures and hands them to ``save``. matplotlib is imported only when a
picture is actually saved.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.files import write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

DPI = 110
SVG_RC: dict[RcKeyType, Any] = {"svg.hashsalt": "concurrency-compare", "svg.fonttype": "none"}
"""Stable ids (no random salt) and text kept as text: small, diffable SVG files."""


@dataclass(frozen=True)
class Picture:
    """One picture, written as PNG and SVG; paths are relative to the report."""

    kind: str
    """``sweep``, ``resources`` or ``timeline``."""
    key: str
    """The server group or server it shows."""
    title: str
    png: str
    svg: str
    marks: int
    """How many request bars (timelines) or measured points (charts) it draws."""


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def with_tooltips(svg: str, tooltips: Mapping[str, str]) -> str:
    """``svg`` with a ``<title>`` (a browser's tooltip) as the first child of each ``<g id=gid>``."""
    if not tooltips:
        return svg

    def titled(m: re.Match[str]) -> str:
        text = tooltips.get(html.unescape(m.group(2)))
        return m.group(0) if text is None else f"{m.group(0)}\n{m.group(1)} <title>{html.escape(text)}</title>"

    return re.sub(r'^( *)<g id="([^"]+)">', titled, svg, flags=re.MULTILINE)


def save(
    fig: Figure, out_dir: Path, stem: str, *, report_dir: Path, tooltips: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """Write ``stem``.png and .svg atomically; return their paths relative to the report.

    ``tooltips`` maps an artist's gid to the text its SVG group shows on hover.
    """
    import matplotlib as mpl  # loaded only by the code that draws

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with mpl.rc_context(SVG_RC):
        for fmt, extra in (("png", {"dpi": DPI}), ("svg", {"metadata": {"Date": None}})):
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, **extra)  # constrained layout already fits: no "tight" redraw
            data = buf.getvalue()
            if fmt == "svg" and tooltips:
                data = with_tooltips(data.decode(), tooltips).encode()
            path = out_dir / f"{stem}.{fmt}"
            write_bytes(path, data)
            paths.append(path.relative_to(report_dir).as_posix())
    return paths[0], paths[1]
