"""End to end: the load balancers `parley render cluster` configures, run by real nginx and HAProxy on loopback:
least-connections spreading, draining (in the file and, for HAProxy, through its runtime API), active checks
of /readyz, and WebSockets through to a real `parley serve`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import Render, ping, register
from tests.deploy.proxies import Proxy
from tests.support.servers import ServerProcess, free_port

pytestmark = pytest.mark.e2e
LOAD_BALANCERS = ["nginx", "haproxy"]


class StubNode(ThreadingHTTPServer):
    """Stands in for a node: answers every GET with its name and records the paths it was asked for."""

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _StubHandler)
        self.name = name
        self.paths: list[str] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StubNode

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        body = self.server.name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def stub_nodes(count: int) -> Iterator[list[StubNode]]:
    nodes = [StubNode(f"node{index}") for index in range(1, count + 1)]
    for node in nodes:
        threading.Thread(target=node.serve_forever, daemon=True).start()
    try:
        yield nodes
    finally:
        for node in nodes:
            node.shutdown()
            node.server_close()


@contextmanager
def load_balancer(render: Render, folder: Path, lb: str, nodes: list[str], *extra: str) -> Iterator[str]:
    """Render the `lb` configuration for `nodes`, run it on a spare loopback port, yield its base URL."""
    port = free_port()
    args = [arg for node in nodes for arg in ("--node", node)]
    out = folder / "out"
    result = render(
        "cluster", "--out", out, "--lb", lb, "--listen", f"127.0.0.1:{port}", *args,
        "--stats-socket", folder / "admin.sock", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    if lb == "nginx":
        proxy = Proxy.nginx(out / "nginx" / "parley-cluster.conf", folder / "nginx", port=port)
    else:
        proxy = Proxy.haproxy(out / "haproxy" / "haproxy.cfg", port=port)
    proxy.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proxy.stop()


def answering_nodes(base_url: str, requests: int = 20) -> list[str]:
    with httpx.Client(base_url=base_url) as client:
        return [client.get("/api/v1/limits").raise_for_status().text for _ in range(requests)]


def runtime_api(socket_path: Path, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(str(socket_path))
        connection.sendall(command.encode() + b"\n")
        return b"".join(iter(lambda: connection.recv(4096), b"")).decode()


@pytest.mark.parametrize("lb", LOAD_BALANCERS)
@pytest.mark.parametrize("drain", [False, True], ids=["all-nodes", "drain-node2"])
def test_requests_spread_over_nodes_and_skip_a_drained_one(
    render: Render, tmp_path: Path, lb: str, drain: bool
) -> None:
    with stub_nodes(2) as (first, second):
        extra = ["--drain", second.address] if drain else []
        with load_balancer(render, tmp_path, lb, [first.address, second.address], *extra) as base_url:
            answers = answering_nodes(base_url)
    assert set(answers) == ({"node1"} if drain else {"node1", "node2"})


def test_haproxy_drains_a_node_at_run_time_through_its_stats_socket(render: Render, tmp_path: Path) -> None:
    with stub_nodes(2) as (first, second):
        with load_balancer(render, tmp_path, "haproxy", [first.address, second.address]) as base_url:
            assert set(answering_nodes(base_url)) == {"node1", "node2"}
            assert runtime_api(tmp_path / "admin.sock", "set server parley/node2 state drain").strip() == ""
            assert set(answering_nodes(base_url)) == {"node1"}
            states = runtime_api(tmp_path / "admin.sock", "show servers state parley")
    # The columns of `show servers state`: srv_name is the 4th, srv_admin_state the 7th (0x08: drain).
    admin_states = {row.split()[3]: int(row.split()[6]) for row in states.splitlines()[2:] if row.strip()}
    assert admin_states == {"node1": 0, "node2": 0x08}


def test_haproxy_checks_each_node_on_readyz(render: Render, tmp_path: Path) -> None:
    with stub_nodes(2) as nodes:
        with load_balancer(render, tmp_path, "haproxy", [node.address for node in nodes], "--drain", nodes[1].address):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all("/readyz" in node.paths for node in nodes):
                time.sleep(0.1)
    # The drained node is still checked, so its health stays known.
    assert all("/readyz" in node.paths for node in nodes), [node.paths for node in nodes]


@pytest.mark.parametrize("lb", LOAD_BALANCERS)
async def test_a_websocket_through_the_load_balancer_answers_ping(
    render: Render, tmp_path: Path, parley_server: ServerProcess, lb: str
) -> None:
    with load_balancer(render, tmp_path, lb, [f"127.0.0.1:{parley_server.port}"]) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            health = await client.get("/lb/healthz")
            ready = await client.get("/readyz")
        token = await register(base_url, f"through-{lb}")
        pong = await ping(f"{base_url.replace('http://', 'ws://', 1)}/ws?token={token}")
    assert health.status_code == 200
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert pong == {"type": "pong", "id": "p1"}
