"""Server processes under test: start, wait until ready, read their RSS and CPU time, stop."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class ServerStartError(RuntimeError):
    """The server process exited or never answered its health check."""


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE to the hard limit; child processes (the servers) inherit it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def rss_kb(self) -> int:
        """Resident memory of the server and its worker processes, in KiB."""
        return sum(_rss_kb(pid) for pid in _process_tree(self.process.pid))

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(pid) for pid in _process_tree(self.process.pid))

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


async def start_server(
    *, name: str, argv: Sequence[str], env: Mapping[str, str], port: int, log_path: Path, cwd: Path
) -> ServerProcess:
    process = _spawn(argv, env=env, cwd=cwd, log_path=log_path)
    server = ServerProcess(name=name, process=process, port=port, log_path=log_path)
    try:
        await _wait_ready(server)
    except ServerStartError:
        server.stop()
        raise
    return server


def _spawn(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path) -> subprocess.Popen[bytes]:
    # A session of its own: stop() can end the whole process group, uvicorn workers included.
    with log_path.open("wb") as log:
        return subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


async def _wait_ready(server: ServerProcess) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    async with httpx.AsyncClient(base_url=server.http_url, timeout=2.0) as client:
        while loop.time() < deadline:
            if server.process.poll() is not None:
                raise ServerStartError(f"{server.name} exited with {server.process.returncode}")
            try:
                if (await client.get("/healthz")).status_code == httpx.codes.OK:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise ServerStartError(f"{server.name} did not answer /healthz within {READY_TIMEOUT:.0f} s")


def machine_busy_seconds() -> float:
    """CPU time spent by every process on the machine (all cores), from the `cpu` line of /proc/stat."""
    fields = _read("/proc/stat").split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for tid in _listdir(f"/proc/{pid}/task"):
        children = _read(f"/proc/{pid}/task/{tid}/children").split()
        for child in children:
            pids.extend(_process_tree(int(child)))
    return pids


def _rss_kb(pid: int) -> int:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0.0
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15 of stat(5).
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return ""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []
