"""CPU placement (``--server-cpus``/``--client-cpus``) and ``serve --host``: the pieces without a server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.cli.options import cpu_list, cpu_text
from harness.core.errors import UsageError
from harness.core.process import ManagedProcess
from harness.core.serving import check_host, is_loopback, reachable_host, url_host

ALLOWED = sorted(os.sched_getaffinity(0))


def test_cpu_lists_parse_as_taskset_does() -> None:
    first = ALLOWED[0]
    assert cpu_list(str(first), "--server-cpus") == {first}
    assert cpu_list(None, "--server-cpus") is None
    assert cpu_list(cpu_text(ALLOWED), "--client-cpus") == set(ALLOWED)
    assert cpu_text([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"


@pytest.mark.parametrize("value", ["", "a", "1-0", "-1", "0,,1", "0-x"])
def test_a_bad_cpu_list_is_one_line(value: str) -> None:
    with pytest.raises(UsageError, match="must be a CPU list") as info:
        cpu_list(value, "--server-cpus")
    assert "\n" not in str(info.value)


def test_cpus_outside_this_process_affinity_are_refused() -> None:
    with pytest.raises(UsageError, match=r"--client-cpus: CPU\(s\) 4096 not usable here"):
        cpu_list("4096", "--client-cpus")


def test_a_managed_process_runs_on_the_cpus_it_was_given(tmp_path: Path) -> None:
    cpu = ALLOWED[-1]
    code = "import os; print(sorted(os.sched_getaffinity(0)))"
    proc = ManagedProcess([sys.executable, "-c", code], name="affinity", log_path=tmp_path / "a.log", env=os.environ,
                          capture_stdout=True, cpus=frozenset({cpu}))  # fmt: skip
    with proc:
        item = proc.next_line(30)
        assert proc.wait(30) == 0
    assert item is not None and item[1].strip() == f"[{cpu}]"


def test_hosts() -> None:
    assert check_host("198.18.0.1") == "198.18.0.1"
    with pytest.raises(UsageError, match="must be an IP address"):
        check_host("example.org")
    assert url_host("::1") == "[::1]" and url_host("127.0.0.1") == "127.0.0.1"
    assert reachable_host("0.0.0.0") == "127.0.0.1" and reachable_host("198.18.0.1") == "198.18.0.1"
    assert is_loopback("127.0.0.1") and not is_loopback("198.18.0.1")


@pytest.mark.integration
@pytest.mark.skipif(not {0, 1} <= set(ALLOWED), reason="needs CPUs 0 and 1 in this process's affinity")
def test_a_server_on_one_cpu_has_one_core_for_the_claims(tmp_path: Path) -> None:
    import json

    from tests.conftest import harness

    proc = harness("compare", "--work", "cpu", "--servers", "go-nethttp", "--client-impls", "go-goroutines",
                   "--delay", "0.1", "--repeats", "1", "--server-cpus", "1", "--client-cpus", "0",
                   "--out", str(tmp_path), timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["environment"]["cores"] == 1
    assert (report["environment"]["server_cpus"], report["environment"]["client_cpus"]) == ("1", "0")
    assert (report["settings"]["server_cpus"], report["settings"]["client_cpus"]) == ("1", "0")
    x5 = next(c for c in report["claims"] if c["id"] == "X5")
    assert x5["verdict"] == "inconclusive (1 usable core)"
    text = (tmp_path / "report.md").read_text()
    assert "server on CPU(s) 1; clients on CPU(s) 0" in text
