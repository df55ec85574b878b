"""Real nginx and HAProxy for tests: check a rendered configuration, or run it in the foreground on loopback.

nginx runs from a minimal main configuration made here that includes the rendered site, with its pid, logs
and temporary folders in the test's folder; HAProxy runs the rendered file as it is."""

from __future__ import annotations

import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NGINX = "/usr/sbin/nginx"
HAPROXY = "/usr/sbin/haproxy"


@dataclass(frozen=True)
class SelfSigned:
    """A self-signed certificate for localhost, 127.0.0.1 and chat.example.org, and its key."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, folder: Path) -> SelfSigned:
        cert, key = folder / "cert.pem", folder / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:chat.example.org"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return cls(cert=cert, key=key)

    def combined(self, path: Path) -> Path:
        """Chain and key in one file, as HAProxy's `crt` reads them."""
        path.write_bytes(self.cert.read_bytes() + self.key.read_bytes())
        return path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def nginx_main(site: Path, folder: Path) -> Path:
    """A main nginx.conf that includes `site` in its http block, keeping every file it writes in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    # As root, nginx would run its workers as `nobody`, who cannot enter pytest's private temporary folders.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} notice;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    access_log {folder / 'access.log'};\n{temp}\n    include {site};\n}}\n"
    )
    return main


def nginx_check(site: Path, folder: Path) -> str:
    """`nginx -t` on `site`; returns its report, which must hold no warning."""
    main = nginx_main(site, folder)
    result = _run([NGINX, "-t", "-c", str(main), "-p", str(folder), "-e", str(folder / "error.log")])
    return _clean(result, "nginx -t", warning="[warn]")


def haproxy_check(config: Path) -> str:
    """`haproxy -c` on `config`; returns its report, which must hold no warning."""
    return _clean(_run([HAPROXY, "-c", "-f", str(config)]), "haproxy -c", warning="[WARNING]")


class Proxy:
    """nginx or HAProxy in the foreground, stopped by `stop()`; `port` is the one it must open."""

    def __init__(self, command: list[str], *, port: int, log_path: Path) -> None:
        self.command = command
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def nginx(cls, site: Path, folder: Path, *, port: int) -> Proxy:
        main = nginx_main(site, folder)
        command = [NGINX, "-c", str(main), "-p", str(folder), "-e", str(folder / "error.log")]
        return cls(command, port=port, log_path=folder / "error.log")

    @classmethod
    def haproxy(cls, config: Path, *, port: int) -> Proxy:
        if os.geteuid() != 0:
            # chroot and the switch to the haproxy user need root; the rest of the file runs as rendered.
            unprivileged = re.sub(r"(?m)^\s*(chroot|user|group)\s.*\n", "", config.read_text())
            config = config.with_suffix(".unprivileged.cfg")
            config.write_text(unprivileged)
        return cls([HAPROXY, "-db", "-f", str(config)], port=port, log_path=config.with_suffix(".log"))

    def start(self, *, timeout: float = 15.0) -> Proxy:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.command[0]} exited with {self.process.returncode}:\n{self.log_path.read_text()}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"{self.command[0]} did not open port {self.port} in {timeout}s:\n{self.log_path.read_text()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _clean(result: subprocess.CompletedProcess[str], what: str, *, warning: str) -> str:
    report = result.stdout + result.stderr
    if result.returncode != 0 or warning in report:
        raise AssertionError(f"{what} failed (exit {result.returncode}):\n{report}")
    return report
