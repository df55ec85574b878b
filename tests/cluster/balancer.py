"""The load balancer in front of a test cluster: what `parley render cluster` writes, run by the real nginx or
HAProxy on a spare loopback port, rendered again and reloaded in place when nodes are added.

Reloads are the ones the runbooks in docs/cluster.md use. nginx: `nginx -s reload` (the master starts new
workers with the new file; the old workers keep their open connections until those close). HAProxy:
master-worker mode (`-W`) and SIGUSR2 to the master, which starts a new worker with the new file and lets the
old one finish its open connections (soft stop)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from tests.deploy.proxies import Proxy
from tests.support.servers import ServerProcess, free_port

RELOAD_TIMEOUT = 15.0
RELOADED = {
    "nginx": ("start worker process", "gracefully shutting down"),
    "haproxy": ("Loading success.", "Proxy parley stopped"),
}
# `show servers state` columns: srv_name is the 4th, srv_op_state the 6th (0: down, 2: up).
HAPROXY_NAME_COLUMN, HAPROXY_OP_STATE_COLUMN, HAPROXY_UP = 3, 5, 2


class Balancer:
    """nginx or HAProxy (`lb`) for the nodes given to `start` or `reload`, with its files in `folder`."""

    def __init__(self, lb: str, folder: Path) -> None:
        self.lb = lb
        self.folder = folder
        self.port = free_port()
        self.stats_socket = folder / "admin.sock"
        self.proxy: Proxy | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def config(self) -> Path:
        """The rendered file the balancer runs."""
        name = "nginx/parley-cluster.conf" if self.lb == "nginx" else "haproxy/haproxy.cfg"
        return self.folder / "rendered" / name

    def render(self, nodes: Sequence[ServerProcess], *extra: str) -> Path:
        """`parley render cluster --force` for `nodes`, as an operator runs it; `extra` adds flags (--drain)."""
        args = [arg for node in nodes for arg in ("--node", f"127.0.0.1:{node.port}")]
        result = CliRunner().invoke(
            cli,
            ["render", "cluster", "--out", str(self.folder / "rendered"), "--force", "--lb", self.lb,
             "--listen", f"127.0.0.1:{self.port}", "--stats-socket", str(self.stats_socket), *args, *extra],
        )  # fmt: skip
        if result.exit_code != 0:
            raise AssertionError(f"parley render cluster failed: {result.output}")
        return self.config

    def start(self, nodes: Sequence[ServerProcess]) -> Balancer:
        self.render(nodes)
        if self.lb == "nginx":
            self.proxy = Proxy.nginx(self.config, self.folder / "nginx", port=self.port)
        else:
            plain = Proxy.haproxy(self.config, port=self.port)
            self.proxy = Proxy([plain.command[0], "-W", *plain.command[1:]], port=self.port, log_path=plain.log_path)
        self.proxy.start()
        return self

    def reload(self, nodes: Sequence[ServerProcess], *extra: str) -> None:
        """Render for `nodes` (`extra`: more flags) and reload without closing open connections; returns once
        new workers serve."""
        self.render(nodes, *extra)
        # Each balancer logs these once a reload took effect: a new worker runs, and the old one stopped
        # accepting (until then it still takes new connections, with the old file).
        done = RELOADED[self.lb]
        before = [self.log().count(line) for line in done]
        if self.lb == "nginx":
            subprocess.run([*self._running.command, "-s", "reload"], check=True, capture_output=True, timeout=30)
        else:
            Proxy.haproxy(self.config, port=self.port)  # rewrites the copy HAProxy reads when not run as root
            self._process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + RELOAD_TIMEOUT
        while not all(self.log().count(line) > n for line, n in zip(done, before, strict=True)):
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise AssertionError(f"{self.lb} did not reload within {RELOAD_TIMEOUT}s:\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()

    # What the balancer reports

    def log(self) -> str:
        return self._running.log_path.read_text(errors="replace")

    def runtime_api(self, command: str) -> str:
        """One command on HAProxy's runtime API (the rendered `stats socket`)."""
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(5)
            connection.connect(str(self.stats_socket))
            connection.sendall(command.encode() + b"\n")
            return b"".join(iter(lambda: connection.recv(4096), b"")).decode()

    def haproxy_up(self) -> dict[str, bool]:
        """Each server of the `parley` backend: whether HAProxy's checks hold it up."""
        rows = self.runtime_api("show servers state parley").splitlines()[2:]
        columns = [row.split() for row in rows if row.strip()]
        return {c[HAPROXY_NAME_COLUMN]: int(c[HAPROXY_OP_STATE_COLUMN]) == HAPROXY_UP for c in columns}

    @property
    def _running(self) -> Proxy:
        if self.proxy is None:
            raise RuntimeError("the balancer has not been started")
        return self.proxy

    @property
    def _process(self) -> subprocess.Popen[bytes]:
        if self._running.process is None:
            raise RuntimeError("the balancer has not been started")
        return self._running.process


def node_name(index: int) -> str:
    """The server name `parley render cluster` gives the node at `index` (from 0) of its --node list."""
    return f"node{index + 1}"
