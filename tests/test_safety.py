"""Safe by default: loopback only, Django locked down, no secret in the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from harness.core import gobuild
from harness.core.catalog import CATALOG
from harness.core.paths import CACHE_DIR, GO_DIR, PYTHON_DIR, REPO
from harness.core.serving import running_server

SETTINGS = PYTHON_DIR / "servers" / "django_project" / "settings.py"


def test_django_settings_are_minimal_and_safe() -> None:
    sys.path.insert(0, str(PYTHON_DIR))
    try:
        from servers.django_project import settings
    finally:
        sys.path.remove(str(PYTHON_DIR))
    assert settings.DEBUG is False
    assert settings.ALLOWED_HOSTS == ["127.0.0.1", "localhost", "[::1]"]  # loopback only, unless serve --host
    assert len(settings.SECRET_KEY) >= 50
    assert "secrets.token_urlsafe" in SETTINGS.read_text()  # generated at start, never a literal


def test_serve_host_adds_only_its_address_to_allowed_hosts() -> None:
    """``harness serve --host ADDR`` passes ADDR (``HARNESS_ALLOWED_HOSTS``); nothing else gets in."""
    code = "from servers.django_project import settings; print(settings.ALLOWED_HOSTS)"
    env = {"PYTHONPATH": str(PYTHON_DIR), "HARNESS_ALLOWED_HOSTS": "198.18.0.1"}
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "['127.0.0.1', 'localhost', '[::1]', '198.18.0.1']"


def test_no_secret_literal_in_the_repository() -> None:
    pattern = re.compile(r"SECRET_KEY\s*=\s*['\"]")
    for path in REPO.rglob("*.py"):
        if ".nox" in path.parts or ".cache" in path.parts:
            continue
        assert not pattern.search(path.read_text(errors="replace")), path


@pytest.mark.integration
@pytest.mark.parametrize("server", [s.name for s in CATALOG.servers])
def test_every_server_listens_on_loopback_only(server: str, tmp_path: Path) -> None:
    spec = CATALOG.servers_by_name[server]
    go = gobuild.build(GO_DIR, CACHE_DIR / "go") if spec.needs_go else None
    with running_server(spec, delay_s=0.01, logs_dir=tmp_path, go=go) as running:
        addresses = set()
        for proc in running.proc.group():
            try:
                addresses |= {c.laddr.ip for c in proc.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
            except psutil.Error:
                continue
        assert addresses == {"127.0.0.1"}
        if any("manage.py" in part or "django_project" in part for part in spec.command):
            # loopback-only ALLOWED_HOSTS: a foreign Host header is refused
            h2c_only = spec.h2c == "only"  # prior knowledge: an HTTP/1.1 request is refused before Django sees it
            with httpx.Client(http1=not h2c_only, http2=h2c_only, trust_env=False, timeout=10) as client:
                answer = client.get(running.url, headers={"Host": "evil.example"})
            assert answer.status_code == 400
