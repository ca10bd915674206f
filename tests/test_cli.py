"""Bad input: one clear line, exit status 2, nothing started."""

from __future__ import annotations

import pytest

from tests.conftest import harness


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "--servers", "nginx"], "unknown server 'nginx' in --servers; valid: go-nethttp,"),
        (["compare", "--client-impls", "curl"], "unknown client 'curl' in --client-impls; valid: go-goroutines,"),
        (["compare", "--delay", "0"], "--delay must be a number of seconds from 0.001 to 25, got 0"),
        (["compare", "--delay", "-1"], "--delay must be a number of seconds from 0.001 to 25"),
        (["compare", "--delay", "0.00001"], "--delay must be a number of seconds from 0.001 to 25, got 1e-05"),
        (["compare", "--connections", "pooled"], "argument --connections: invalid choice: 'pooled'"),
        (["compare", "--delay", "abc"], "--delay must be a number of seconds or auto (a --target only), got 'abc'"),
        (["compare", "--clients", "0"], "--clients must be between 1 and 1000, got 0"),
        (["compare", "--clients", "1001"], "--clients must be between 1 and 1000, got 1001"),
        (["compare", "--repeats", "0"], "--repeats must be at least 1, got 0"),
        (["compare", "--out", "/proc/no-such-dir"], "cannot write to --out '/proc/no-such-dir'"),
        (["serve", "nginx"], "unknown server 'nginx'; valid: go-nethttp,"),
        (["bench", "--parts", "speed"], "unknown part 'speed' in --parts; valid: precision, scale, whole, efficiency"),
        (["bench", "--delays", "fast"], "--delays must be comma-separated seconds, e.g. 0.05,0.2,1, got 'fast'"),
        (["bench", "--delays", "0.2,30"], "--delays must be a number of seconds from 0.001 to 25, got 30"),
        (["bench", "--scale-clients", "5000"], "--scale-clients must be between 1 and 1000, got 5000"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(args: list[str], message: str) -> None:
    proc = harness(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr


def test_list_prints_catalog() -> None:
    proc = harness("list")
    assert proc.returncode == 0
    assert "gunicorn-workers5" in proc.stdout and "httpx-sequential" in proc.stdout


# Bad --catalog files: tests/test_catalog.py
