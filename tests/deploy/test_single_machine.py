"""End to end: the nginx site `parley render single` writes, run by a real nginx on spare ports in front of a
real `parley serve` that reads the rendered settings (production mode, generated secret); and `parley` run under
the memory rule the rendered unit imposes."""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import Render, parse_env, ping, register
from tests.deploy.proxies import Proxy, SelfSigned
from tests.support.servers import PARLEY, ServerProcess, free_port, migrate

pytestmark = pytest.mark.e2e
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}


@dataclass(frozen=True)
class Site:
    http: str
    https: str
    context: ssl.SSLContext


@pytest.fixture(scope="module")
def site(render: Render, tls: SelfSigned, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("single")
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    out = folder / "out"
    result = render(
        "single", "--out", out, "--domain", "localhost", "--tls-cert", tls.cert, "--tls-key", tls.key,
        "--port", app_port, "--http-port", http_port, "--https-port", https_port,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    env = {
        **parse_env(out / "parley.env"),
        "PARLEY_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'parley.db'}",
        "PARLEY_LOG_LEVEL": "WARNING",
    }
    migrate(env)
    server = ServerProcess(env=env, log_path=folder / "server.log", port=app_port)
    nginx = Proxy.nginx(out / "nginx" / "parley.conf", folder / "nginx", port=https_port)
    try:
        server.start()
        nginx.start()
        yield Site(f"http://localhost:{http_port}", f"https://localhost:{https_port}", tls.client_context())
    finally:
        nginx.stop()
        server.stop()


def test_plain_http_redirects_to_https(site: Site) -> None:
    response = httpx.get(f"{site.http}/healthz?probe=1")
    assert response.status_code == 301
    assert response.headers["location"] == f"{site.https}/healthz?probe=1"


def test_https_serves_health_and_the_web_client_with_security_headers(site: Site) -> None:
    with httpx.Client(base_url=site.https, verify=site.context) as client:
        health = client.get("/healthz")
        page = client.get("/")

    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert {name: health.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert page.status_code == 200 and "<title>Parley</title>" in page.text
    assert {name: page.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_request_ids_are_made_by_nginx_or_passed_through(site: Site) -> None:
    with httpx.Client(base_url=site.https, verify=site.context) as client:
        made = client.get("/healthz").headers["x-request-id"]
        given = client.get("/healthz", headers={"X-Request-ID": "trace-42"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)  # nginx's $request_id; Parley's own ids are 16 characters
    assert given == "trace-42"


def test_bodies_over_the_limit_get_413_from_nginx_and_metrics_stay_private(site: Site) -> None:
    with httpx.Client(base_url=site.https, verify=site.context) as client:
        too_large = client.post(
            "/api/v1/auth/register", content=b"x" * 100_000, headers={"content-type": "application/json"}
        )
        metrics = client.get("/metrics")
    assert too_large.status_code == 413
    assert too_large.headers["content-type"].startswith("text/html")  # nginx's page; Parley answers in JSON
    assert metrics.status_code == 403


async def test_a_websocket_over_wss_through_nginx_answers_ping(site: Site) -> None:
    token = await register(site.https, "wss", verify=site.context)
    ws_url = site.https.replace("https://", "wss://", 1)
    assert await ping(f"{ws_url}/ws?token={token}", ssl_context=site.context) == {"type": "pong", "id": "p1"}


# Run in a child process, then `parley`: ask the kernel to refuse writable-and-executable memory from now on
# (prctl PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN; what systemd's MemoryDenyWriteExecute=yes enforces with seccomp),
# show it is refused, and exec the command given.
DENY_WRITE_EXECUTE = """
import ctypes, mmap, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(f"unsupported: prctl(PR_SET_MDWE) failed with errno {ctypes.get_errno()}")
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("writable and executable memory is still allowed")
except PermissionError:
    pass
os.execv(sys.argv[1], sys.argv[1:])
"""


def test_parley_runs_when_writable_code_pages_are_refused(tmp_path: Path) -> None:
    """parley.service sets MemoryDenyWriteExecute=yes: migrate, serve, hash a password (argon2, through cffi)
    and answer a WebSocket, all with the kernel refusing memory that is both writable and executable."""
    wrapper = [sys.executable, "-c", DENY_WRITE_EXECUTE]
    probe = subprocess.run([*wrapper, sys.executable, "-c", "pass"], capture_output=True, text=True, timeout=30)
    if probe.stderr.startswith("unsupported"):
        pytest.skip(f"this kernel cannot refuse writable code pages (Linux 6.3+): {probe.stderr.strip()}")
    assert probe.returncode == 0, probe.stderr

    env = {
        **os.environ,
        "PARLEY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}",
        "PARLEY_LOG_LEVEL": "WARNING",
    }
    migrated = subprocess.run([*wrapper, PARLEY, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    port, log_path = free_port(), tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([*wrapper, PARLEY, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url, server, log_path)
        token = asyncio.run(register(base_url, "mdwe"))
        assert asyncio.run(ping(f"ws://127.0.0.1:{port}/ws?token={token}")) == {"type": "pong", "id": "p1"}
    finally:
        server.terminate()
        server.wait(timeout=15)


def wait_until_ready(base_url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, log_path.read_text()
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"parley serve not ready in 30 s:\n{log_path.read_text()}")
