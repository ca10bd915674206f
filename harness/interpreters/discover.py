"""Find the CPython interpreters (3.11 and newer) on this machine, and say why others were skipped.

Where nox looks (PATH), plus where pyenv keeps its versions (``$(pyenv root)/versions/*/bin``:
pyenv's shims answer "command not found" for every version but the global one, and
uv's discovery stumbles on them too), plus any path the user names. Each candidate
is asked for its version and build; free-threaded builds (3.13t, 3.14t) are kept apart.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.core.childenv import child_env
from harness.core.errors import HarnessError
from harness.core.process import run_command

MIN_VERSION = (3, 11)
NAMES = ("python3.11", "python3.12", "python3.13", "python3.13t", "python3.14", "python3.14t", "python3.15")
PROBE = (
    "import json, platform, sys, sysconfig; print(json.dumps({'implementation': platform.python_implementation(), "
    "'version': list(sys.version_info[:3]), 'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
    "'executable': sys.executable}))"
)


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: tuple[int, int, int]
    free_threaded: bool

    @property
    def tag(self) -> str:
        """``3.12``, or ``3.13t`` for a free-threaded build."""
        return f"{self.version[0]}.{self.version[1]}" + ("t" if self.free_threaded else "")

    @property
    def label(self) -> str:
        return f"CPython {'.'.join(map(str, self.version))}" + (" (free-threaded)" if self.free_threaded else "")


def candidates(extra: tuple[str, ...] = (), *, discovery: bool = True) -> list[str]:
    """Paths to try, in order: named by the user, on PATH, under pyenv's versions."""
    found: list[str] = list(extra)
    if not discovery:
        return found
    found += [p for name in NAMES if (p := shutil.which(name))]
    pyenv = shutil.which("pyenv")
    root = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser()
    if pyenv or root.is_dir():
        for version_dir in sorted(root.glob("versions/*/bin")):
            found += [
                str(p)
                for p in sorted(version_dir.glob("python3.*"))
                if p.name[len("python3.") :].removesuffix("t").isdigit()
            ]
    return list(dict.fromkeys(found))


def probe(path: str, log_dir: Path) -> Interpreter | str:
    """The interpreter at ``path``, or one line saying why it is skipped."""
    try:
        code, out = run_command([path, "-c", PROBE], name="probe", log_path=log_dir / "probe.log",
                                env=child_env(delay_s=0.1), timeout_s=30)  # fmt: skip
    except (HarnessError, TimeoutError) as exc:
        return f"{path}: cannot run it ({exc})"
    if code != 0:
        first = out.strip().splitlines()[0] if out.strip() else f"status {code}"
        return f"{path}: {first}"
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"{path}: did not answer the probe ({out.strip()[:80]!r})"
    version = tuple(int(v) for v in data["version"])
    if data["implementation"] != "CPython":
        return f"{path}: {data['implementation']}, not CPython"
    if version[:2] < MIN_VERSION:
        return f"{path}: CPython {'.'.join(map(str, version))} is older than 3.11"
    return Interpreter(str(data["executable"]), (version[0], version[1], version[2]), bool(data["free_threaded"]))


def discover(extra: tuple[str, ...], log_dir: Path, *, discovery: bool = True) -> tuple[list[Interpreter], list[str]]:
    """Every usable interpreter once (the newest patch level per tag), and the skipped ones with why."""
    found: dict[str, Interpreter] = {}
    skipped: list[str] = []
    seen: set[str] = set()
    for path in candidates(extra, discovery=discovery):
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        result = probe(path, log_dir)
        if isinstance(result, str):
            if path in extra or "older than" not in result:  # pyenv's old versions are not worth a line
                skipped.append(result)
            continue
        if result.tag not in found or result.version > found[result.tag].version:
            found[result.tag] = result
    return sorted(found.values(), key=lambda i: (i.version, i.free_threaded)), skipped
