"""The catalog: the built-in entries are present and sane, and a bad ``--catalog`` entry
is one line naming the file, the entry and the field, with exit status 2."""

from pathlib import Path

import pytest

from harness.compare.claims import servers_for
from harness.core.catalog import CATALOG, CLIENT_FIELDS, CLIENTS, SERVER_FIELDS, SERVERS, fields_of
from harness.core.claims import CLAIMS, claims_for
from harness.core.gobuild import PROGRAMS, GoBuild
from harness.core.serving import base_values
from tests.conftest import harness

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


def test_every_server_gets_a_claim() -> None:
    # its own declared claims, or the generic one (G1) from its declared capacity
    known = {c.id for c in CLAIMS}
    for server in SERVERS:
        assert claims_for(server) and set(claims_for(server)) <= known, server.name


def test_names_are_the_ones_the_report_and_users_refer_to() -> None:
    # the built-ins are present (more may follow); the article's nine are the default run
    names = [s.name for s in SERVERS]
    assert names[: len(ISSUED_SERVERS)] == ISSUED_SERVERS
    assert [s.name for s in SERVERS if s.default][: len(ISSUED_SERVERS)] == ISSUED_SERVERS
    assert [c.name for c in CLIENTS][: len(ISSUED_CLIENTS)] == ISSUED_CLIENTS
    assert len(set(names)) == len(names)


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
    for name in servers_for("C11", CATALOG):
        joined = " ".join(CATALOG.servers_by_name[name].command)
        assert "manage.py" in joined or "servers.django_project.wsgi:application" in joined


FD_SERVER = '[[server]]\nname = "foo"\ncommand = ["{python}", "{fd}"]\n'
PORT_SERVER = '[[server]]\nname = "foo"\ncommand = ["{python}", "{port}"]\nlisten = "port"\n'


@pytest.mark.parametrize(
    ("toml", "entry", "message"),
    [
        ('[[server]]\nname = "foo"\ncommand = "gunicorn -b fd://{fd}"\n', "server 'foo'",
         "command: Input should be a list"),
        ('[server]\nname = "foo"\ncommand = ["{python}", "{fd}"]\n', "server 'foo'", "write [[server]]"),
        (FD_SERVER + "capacity = 0\n", "server 'foo'", "capacity: Input should be greater than 0"),
        (FD_SERVER + 'capacity = "5"\n', "server 'foo'", "capacity: Input should be a valid integer"),
        (FD_SERVER + "capacity = 2.5\n", "server 'foo'", "capacity: Input should be a valid integer"),
        (PORT_SERVER + 'port_pattern = "("\n', "server 'foo'", "port_pattern: not a valid regex"),
        (PORT_SERVER + "port_pattern = 'port \\d+'\n", "server 'foo'", "port_pattern: needs a capturing group"),
        (FD_SERVER + "env = {X = 1}\n", "server 'foo'", "env: values must be strings, got X = 1"),
        ('[[client]]\nname = "bar"\ncommand = ["{python}", "{url}"]\nconcurrent = "no"\n', "client 'bar'",
         "concurrent: Input should be a valid boolean"),
        (FD_SERVER + 'ready_timeout_s = "fast"\n', "server 'foo'", "ready_timeout_s: Input should be a valid number"),
        (FD_SERVER + 'colour = "red"\n', "server 'foo'", "colour: unknown key; known: name, summary, command"),
        (FD_SERVER + "default = 1\n", "server 'foo'", "default: Input should be a valid boolean"),
        ('[[server]]\nname = "foo"\ncommand = ["{python}", "{fd}", "{nope}"]\n', "server 'foo'",
         "command: unknown placeholders ['nope']"),
        ('[[server]]\nname = "foo"\ncommand = ["{python}"]\n', "server 'foo'",
         "listen = 'fd' needs {fd} in the command"),
        (PORT_SERVER, "server 'foo'", "listen = 'port' needs a port_pattern"),
        (FD_SERVER + 'listen = "udp"\n', "server 'foo'", "listen: Input should be 'fd' or 'port'"),
        ('[[server]]\ncommand = ["{python}", "{fd}"]\n', "server #1", "name: Field required"),
        (FD_SERVER.replace("foo", "go-nethttp"), "", "names already taken: go-nethttp"),
        (FD_SERVER + FD_SERVER, "", "names already taken: foo"),
        ("[[server]\n", "", "cannot read --catalog"),
        ('[servers]\nname = "foo"\n', "", "unknown tables ['servers']; use [[server]], [[client]] and [[target]]"),
    ],
)  # fmt: skip
def test_bad_catalog_entry_is_one_line_naming_file_entry_and_field(
    tmp_path: Path, toml: str, entry: str, message: str
) -> None:
    catalog = tmp_path / "bad.toml"
    catalog.write_text(toml)
    proc = harness("list", "--catalog", str(catalog))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"--catalog {str(catalog)!r}" in lines[0]
    assert f"{entry}: " in lines[0] and message in lines[0], lines[0]


def test_bad_catalog_starts_nothing_in_compare(tmp_path: Path) -> None:
    catalog = tmp_path / "bad.toml"
    catalog.write_text(FD_SERVER + "capacity = 0\n")
    out = tmp_path / "out"
    proc = harness("compare", "--catalog", str(catalog), "--servers", "foo", "--out", str(out))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "server 'foo': capacity: Input should be greater than 0" in proc.stderr
    assert not out.exists()  # checked before anything started or was written


def test_a_good_catalog_entry_is_typed_like_a_builtin(tmp_path: Path) -> None:
    catalog = tmp_path / "good.toml"
    catalog.write_text(FD_SERVER + 'capacity = 10\nenv = {B = "2", A = "1"}\nready_timeout_s = 5\n'
                       '[[client]]\nname = "bar"\ncommand = ["{python}", "{url}", "{catalog_dir}/x"]\n'
                       "concurrent = true\n")  # fmt: skip
    found = CATALOG.with_file(catalog)
    spec = found.servers_by_name["foo"]
    assert spec.command == ("{python}", "{fd}") and spec.capacity == 10 and spec.summary == "foo"
    assert spec.env == (("A", "1"), ("B", "2")) and spec.ready_timeout_s == 5.0 and spec.claims == ()
    assert claims_for(spec) == ["G1"]
    assert found.clients_by_name["bar"].command[-1] == f"{tmp_path.resolve()}/x"
    assert found.servers[: len(CATALOG.servers)] == CATALOG.servers
