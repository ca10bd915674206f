from pathlib import Path

from harness.catalog import CATALOG, CLIENT_FIELDS, CLIENTS, SERVER_FIELDS, SERVERS, fields_of
from harness.claims import DJANGO_WSGI, claims_for
from harness.gobuild import PROGRAMS, GoBuild
from harness.runner import base_values

ISSUED_SERVERS = [
    "go-nethttp",
    "fastapi-async",
    "fastapi-def",
    "fastapi-async-blocking",
    "django-runserver",
    "django-nothreading",
    "gunicorn-default",
    "gunicorn-threads5",
    "gunicorn-workers5",
]
ISSUED_CLIENTS = ["go-goroutines", "httpx-async", "httpx-threads", "httpx-sequential"]


def fields(command: tuple[str, ...]) -> set[str]:
    return fields_of(command)


def test_the_runner_fills_every_known_placeholder() -> None:
    go = GoBuild("go0", {name: Path(name) for name in PROGRAMS}, cached=True)
    values = set(base_values(go))
    assert values | {"delay", "port", "fd"} >= SERVER_FIELDS
    assert values | {"url", "clients", "batches", "timeout"} >= CLIENT_FIELDS


def test_every_server_is_named_by_a_claim() -> None:
    assert {s.name: bool(claims_for(s.name)) for s in SERVERS} == {s.name: True for s in SERVERS}


def test_names_are_the_ones_the_report_and_users_refer_to() -> None:
    assert [s.name for s in SERVERS][: len(ISSUED_SERVERS)] == ISSUED_SERVERS
    assert [c.name for c in CLIENTS] == ISSUED_CLIENTS


def test_templates_use_known_fields() -> None:
    for server in SERVERS:
        assert fields(server.command) <= SERVER_FIELDS, server.name
        if server.listen == "fd":
            assert "fd" in fields(server.command), server.name
        else:
            assert server.port_regex() is not None and "port" in fields(server.command), server.name
    for client in CLIENTS:
        assert {"url", "clients", "batches", "timeout"} <= fields(client.command) <= CLIENT_FIELDS, client.name


def test_every_server_binds_loopback_only() -> None:
    for server in SERVERS:
        joined = " ".join(server.command)
        assert "0.0.0.0" not in joined
        assert "{host}" in joined or "{fd}" in joined, server.name


def test_django_setups_share_one_app() -> None:
    # C11: the article's five Django setups serve the same WSGI project
    for name in DJANGO_WSGI:
        joined = " ".join(CATALOG.servers_by_name[name].command)
        assert "manage.py" in joined or "servers.django_project.wsgi:application" in joined
