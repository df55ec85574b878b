"""`parley render single|cluster`: every variant checked by the real nginx and HAProxy, the systemd unit's
hardening read back key by key, the secret file's privacy, and bad input refused with the flag named."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest

from app.settings import Settings
from tests.deploy.conftest import Render, parse_env
from tests.deploy.proxies import SelfSigned, haproxy_check, nginx_check

DOMAIN = "chat.example.org"


def render_single(render: Render, out: Path, tls: SelfSigned, *extra: str | Path) -> Path:
    result = render("single", "--out", out, "--domain", DOMAIN, "--tls-cert", tls.cert, "--tls-key", tls.key, *extra)
    assert result.exit_code == 0, result.output
    return out


def render_cluster(render: Render, out: Path, *args: str | Path) -> Path:
    result = render("cluster", "--out", out, *args)
    assert result.exit_code == 0, result.output
    return out


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [every value, in order]}}; a repeated key keeps all its values."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        else:
            key, _, value = line.partition("=")
            current.setdefault(key.strip(), []).append(value.strip())
    return sections


def block(text: str, opening: str, *, nth: int = 0) -> str:
    """The body of the `nth` nginx block that starts with `opening` (blocks inside it included)."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(opening + " {", start + 1)
    start += len(opening) + 2
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    return text[start : end - 1]


@pytest.mark.parametrize(
    "extra", [[], ["--http-port", "8080", "--https-port", "8443", "--port", "9000"]], ids=["default-ports", "ports"]
)
def test_the_single_machine_site_passes_nginx_t(
    render: Render, tls: SelfSigned, tmp_path: Path, extra: list[str]
) -> None:
    out = render_single(render, tmp_path / "out", tls, *extra)
    nginx_check(out / "nginx" / "parley.conf", tmp_path / "nginx")


def test_the_acme_site_uses_certbot_paths_and_passes_nginx_t(render: Render, tls: SelfSigned, tmp_path: Path) -> None:
    result = render("single", "--out", tmp_path / "out", "--domain", DOMAIN, "--acme")
    assert result.exit_code == 0, result.output
    site = (tmp_path / "out" / "nginx" / "parley.conf").read_text()
    live = f"/etc/letsencrypt/live/{DOMAIN}"
    assert f"ssl_certificate {live}/fullchain.pem;" in site
    assert f"ssl_certificate_key {live}/privkey.pem;" in site
    # The certificate certbot would write is stood in for by the test's own, so nginx can load the site.
    local = tmp_path / "local.conf"
    local.write_text(site.replace(f"{live}/fullchain.pem", str(tls.cert)).replace(f"{live}/privkey.pem", str(tls.key)))
    nginx_check(local, tmp_path / "nginx")


def test_only_the_acme_challenge_stays_on_plain_http(render: Render, tls: SelfSigned, tmp_path: Path) -> None:
    assert render("single", "--out", tmp_path / "acme", "--domain", DOMAIN, "--acme").exit_code == 0
    acme_http = block((tmp_path / "acme" / "nginx" / "parley.conf").read_text(), "server")
    plain_http = block((render_single(render, tmp_path / "own", tls) / "nginx" / "parley.conf").read_text(), "server")

    assert "root /var/www/html;" in block(acme_http, "location /.well-known/acme-challenge/")
    assert f"return 301 https://{DOMAIN}$request_uri;" in block(acme_http, "location /")
    assert "acme-challenge" not in plain_http
    assert f"return 301 https://{DOMAIN}$request_uri;" in block(plain_http, "location /")


def test_the_websocket_location_upgrades_and_keeps_sockets_open(
    render: Render, tls: SelfSigned, tmp_path: Path
) -> None:
    site = (render_single(render, tmp_path / "out", tls) / "nginx" / "parley.conf").read_text()
    websocket = block(site, "location = /ws")
    assert "proxy_http_version 1.1;" in websocket
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket
    assert "proxy_set_header Connection $parley_connection_upgrade;" in websocket
    assert "proxy_read_timeout 1h;" in websocket and "proxy_send_timeout 1h;" in websocket
    assert "proxy_set_header X-Request-ID $parley_request_id;" in websocket
    assert re.search(r"map \$http_upgrade \$parley_connection_upgrade \{\s+default upgrade;", site)
    # The upstream keeps idle connections, which only works when ordinary requests clear Connection.
    assert 'proxy_set_header Connection "";' in block(block(site, "server", nth=1), "location /")
    assert "keepalive" in block(site, "upstream parley")


def test_the_unit_runs_unprivileged_and_hardened(render: Render, tls: SelfSigned, tmp_path: Path) -> None:
    out = render_single(
        render, tmp_path / "out", tls, "--user", "chat", "--install-dir", "/srv/parley", "--data-dir", "/srv/data",
        "--port", "8100", "--workers", "3", "--bus-url", "redis://127.0.0.1:6379/0",
    )  # fmt: skip
    unit = parse_unit((out / "parley.service").read_text())
    service = unit["Service"]
    expected = {
        "User": "chat",
        "Group": "chat",
        "EnvironmentFile": "/etc/parley/parley.env",
        "ExecStartPre": "/srv/parley/bin/parley migrate",
        "ExecStart": "/srv/parley/bin/parley serve --host 127.0.0.1 --port 8100 --workers 3",
        "Restart": "on-failure",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/srv/data",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallFilter": "@system-service",
    }
    assert {key: service.get(key) for key in expected} == {key: [value] for key, value in expected.items()}
    assert set(service["RestrictAddressFamilies"][0].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert int(service["LimitNOFILE"][0]) >= 65536
    assert int(service["RestartSec"][0]) > 0
    # Longer than `parley serve`'s own graceful shutdown (10 s), so WebSockets close before systemd kills.
    assert int(service["TimeoutStopSec"][0]) > 10
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_env_file_is_private_production_and_has_a_fresh_secret(
    render: Render, tls: SelfSigned, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = render_single(render, tmp_path / "one", tls) / "parley.env"
    second = render_single(render, tmp_path / "two", tls) / "parley.env"

    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    settings = parse_env(first)
    assert settings["PARLEY_ENV"] == "production"
    assert settings["PARLEY_DATABASE_URL"] == "sqlite+aiosqlite:////var/lib/parley/parley.db"
    assert len(settings["PARLEY_SECRET_KEY"]) >= 64
    assert settings["PARLEY_SECRET_KEY"] != parse_env(second)["PARLEY_SECRET_KEY"]
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    assert Settings().secret_key == settings["PARLEY_SECRET_KEY"]  # production accepts it


@pytest.mark.parametrize(
    "args",
    [["--listen", "127.0.0.1:8080"], ["--listen", "127.0.0.1:8443", "--tls"], ["--drain", "127.0.0.1:8002", "--tls"]],
    ids=["plain-http", "tls", "drain"],
)
def test_the_nginx_load_balancer_passes_nginx_t(
    render: Render, tls: SelfSigned, tmp_path: Path, args: list[str]
) -> None:
    if "--tls" in args:
        args = [arg for arg in args if arg != "--tls"] + ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    nodes = ["--node", "127.0.0.1:8001", "--node", "127.0.0.1:8002", "--node", "[::1]:8003"]
    out = render_cluster(render, tmp_path / "out", "--lb", "nginx", *nodes, *args)
    nginx_check(out / "nginx" / "parley-cluster.conf", tmp_path / "nginx")


@pytest.mark.parametrize("tls_files", ["none", "combined", "key-beside"])
def test_the_haproxy_load_balancer_passes_haproxy_c(
    render: Render, tls: SelfSigned, tmp_path: Path, tls_files: str
) -> None:
    args = ["--lb", "haproxy", "--node", "127.0.0.1:8001", "--node", "[::1]:8002", "--drain", "127.0.0.1:8001"]
    if tls_files == "combined":
        args += ["--tls-cert", str(tls.combined(tmp_path / "site.pem"))]
    elif tls_files == "key-beside":
        cert, key = tmp_path / "site.pem", tmp_path / "site.pem.key"
        shutil.copyfile(tls.cert, cert)
        shutil.copyfile(tls.key, key)
        args += ["--tls-cert", str(cert), "--tls-key", str(key)]
    out = render_cluster(render, tmp_path / "out", *args, "--stats-socket", tmp_path / "admin.sock")
    haproxy_check(out / "haproxy" / "haproxy.cfg")


def test_haproxy_checks_readyz_actively_and_tunnels_websockets(render: Render, tmp_path: Path) -> None:
    out = render_cluster(render, tmp_path / "out", "--lb", "haproxy", "--node", "10.0.0.1:8000")
    config = (out / "haproxy" / "haproxy.cfg").read_text()
    for line in [
        "balance leastconn",
        "option httpchk GET /readyz",
        "http-check expect status 200",
        "default-server check inter 2s fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down",
        "option redispatch",
        "timeout tunnel 1h",
        "timeout client-fin 30s",
        "option forwardfor",
        "stats socket /run/haproxy/admin.sock mode 660 level admin",
        "bind 0.0.0.0:80",
    ]:
        assert re.search(rf"(?m)^\s+{re.escape(line)}$", config), line


def test_nginx_health_checks_are_passive_and_balanced_by_least_connections(render: Render, tmp_path: Path) -> None:
    out = render_cluster(
        render, tmp_path / "out", "--lb", "nginx", "--node", "10.0.0.1:8000", "--node", "10.0.0.2:8000"
    )
    site = (out / "nginx" / "parley-cluster.conf").read_text()
    upstream = block(site, "upstream parley_cluster")
    assert "least_conn;" in upstream
    assert upstream.count("max_fails=3 fail_timeout=10s;") == 2
    assert "passive" in site.lower()
    assert "listen 0.0.0.0:80;" in site
    assert "proxy_set_header Upgrade $http_upgrade;" in block(site, "location = /ws")


def test_drain_marks_only_the_drained_node(render: Render, tmp_path: Path) -> None:
    nodes = ["--node", "10.0.0.1:8000", "--node", "10.0.0.2:8000", "--drain", "10.0.0.2:8000"]
    nginx = render_cluster(render, tmp_path / "nginx", "--lb", "nginx", *nodes) / "nginx" / "parley-cluster.conf"
    haproxy = render_cluster(render, tmp_path / "haproxy", "--lb", "haproxy", *nodes) / "haproxy" / "haproxy.cfg"

    assert re.findall(r"(?m)^\s+server (\S+) (\S+?)[ ;]", nginx.read_text()) == [
        ("10.0.0.1:8000", "max_fails=3"),
        ("10.0.0.2:8000", "down"),
    ]
    servers = re.findall(r"(?m)^\s+server (node\d) (\S+)(.*)$", haproxy.read_text())
    assert servers == [("node1", "10.0.0.1:8000", ""), ("node2", "10.0.0.2:8000", " weight 0")]


def test_the_cluster_listens_on_443_with_tls_and_80_without(render: Render, tls: SelfSigned, tmp_path: Path) -> None:
    nodes = ["--lb", "haproxy", "--node", "10.0.0.1:8000"]
    plain = render_cluster(render, tmp_path / "plain", *nodes) / "haproxy" / "haproxy.cfg"
    secure = render_cluster(render, tmp_path / "tls", *nodes, "--tls-cert", tls.cert) / "haproxy" / "haproxy.cfg"
    assert "bind 0.0.0.0:80\n" in plain.read_text()
    assert f"bind 0.0.0.0:443 ssl crt {tls.cert}\n" in secure.read_text()
    assert "Strict-Transport-Security" in secure.read_text() and "Strict-Transport-Security" not in plain.read_text()


SINGLE = ["single", "--domain", DOMAIN, "--acme"]
CLUSTER = ["cluster", "--lb", "nginx", "--node", "10.0.0.1:8000"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["single", "--domain", "not a host!", "--acme"], "--domain"),
        (["single", "--domain", "https://chat.example.org", "--acme"], "--domain"),
        (["single", "--domain", "10.0.0.1", "--acme"], "--domain"),
        (["single", "--domain", DOMAIN], "--tls-cert"),
        (["single", "--domain", DOMAIN, "--tls-cert", "/etc/ssl/chat.pem"], "--tls-key"),
        (["single", "--domain", DOMAIN, "--tls-cert", "chat.pem", "--tls-key", "/etc/ssl/chat.key"], "--tls-cert"),
        ([*SINGLE, "--tls-cert", "/etc/ssl/chat.pem", "--tls-key", "/etc/ssl/chat.key"], "--acme"),
        ([*SINGLE, "--port", "70000"], "--port"),
        ([*SINGLE, "--https-port", "0"], "--https-port"),
        ([*SINGLE, "--port", "443"], "--port"),
        ([*SINGLE, "--workers", "2"], "--workers"),
        ([*SINGLE, "--user", "root"], "--user"),
        ([*SINGLE, "--install-dir", "opt/parley"], "--install-dir"),
        ([*SINGLE, "--database-url", "ftp://db/parley"], "--database-url"),
        ([*SINGLE, "--database-url", "postgresql+asyncpg://parley:pa$$@db/parley"], "--database-url"),
        ([*SINGLE, "--database-url", "sqlite+aiosqlite:////srv/parley.db"], "--database-url"),
        ([*SINGLE, "--bus-url", "kafka://bus:9092"], "--bus-url"),
        (["cluster", "--lb", "nginx", "--node", "10.0.0.1"], "--node"),
        (["cluster", "--lb", "nginx", "--node", "10.0.0.1:99999"], "--node"),
        (["cluster", "--lb", "nginx", "--node", "10.0.0.1:0"], "--node"),
        (["cluster", "--lb", "nginx", "--node", "bad_host!:8000"], "--node"),
        (["cluster", "--lb", "nginx", "--node", "::1:8000"], "--node"),
        ([*CLUSTER, "--node", "10.0.0.1:8000"], "--node"),
        ([*CLUSTER, "--drain", "10.0.0.9:8000"], "--drain"),
        ([*CLUSTER, "--drain", "10.0.0.1:8000"], "--drain"),
        ([*CLUSTER, "--listen", "everywhere"], "--listen"),
        ([*CLUSTER, "--tls-cert", "/etc/ssl/lb.pem"], "--tls-key"),
        ([*CLUSTER, "--tls-key", "/etc/ssl/lb.key"], "--tls-cert"),
        (
            ["cluster", "--lb", "haproxy", "--node", "10.0.0.1:8000", "--tls-cert", "/a.pem", "--tls-key", "/b.key"],
            "--tls-key",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_flag_and_writes_nothing(
    render: Render, tmp_path: Path, args: list[str], flag: str
) -> None:
    out = tmp_path / "out"
    result = render(args[0], "--out", out, *args[1:])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {flag}: "), result.stderr
    assert not out.exists()


def test_a_folder_with_files_is_refused_without_force(render: Render, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = render(*SINGLE, "--out", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --out: ") and "--force" in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_force_replaces_only_the_rendered_files_and_keeps_the_secret_private(render: Render, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "parley.env").write_text("PARLEY_SECRET_KEY=old\n")
    (tmp_path / "parley.env").chmod(0o644)

    result = render(*SINGLE, "--out", tmp_path, "--force")

    assert result.exit_code == 0, result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert parse_env(tmp_path / "parley.env")["PARLEY_SECRET_KEY"] != "old"
    assert stat.S_IMODE((tmp_path / "parley.env").stat().st_mode) == 0o600
    assert {path.name for path in tmp_path.iterdir()} == {
        "notes.txt",
        "parley.env",
        "parley.service",
        "nginx",
        "README.txt",
    }


def test_an_out_path_that_is_a_file_is_refused(render: Render, tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    result = render(*SINGLE, "--out", tmp_path / "out", "--force")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --out: ")
    assert (tmp_path / "out").read_text() == "a file"


def test_the_readme_lists_the_install_steps(render: Render, tmp_path: Path) -> None:
    assert render(*SINGLE, "--out", tmp_path / "out").exit_code == 0
    readme = (tmp_path / "out" / "README.txt").read_text()
    for step in [
        "useradd --system",
        "python3 -m venv /opt/parley",
        "install -m 0600 parley.env /etc/parley/parley.env",
        f"certbot certonly --webroot -w /var/www/html -d {DOMAIN}",
        "nginx -t && systemctl reload nginx",
        "systemctl enable --now parley",
    ]:
        assert step in readme, step
