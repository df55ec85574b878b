"""The typed inputs of `parley render`, their validation, and the files rendered from them.

Every bad input raises `RenderError` naming the command-line flag to fix. Rendering is pure (`single_artifacts`,
`cluster_artifacts` return file names and texts); `write` puts them on disk and never loses a file silently: it
refuses a non-empty folder unless forced, and even then replaces only the files it renders."""

from __future__ import annotations

import enum
import functools
import ipaddress
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from app.errors import Invalid
from app.settings import BUS_SCHEMES, DATABASE_SCHEMES

if TYPE_CHECKING:
    import jinja2

CONFIG_DIR = PurePosixPath("/etc/parley")
INSTALL_DIR = PurePosixPath("/opt/parley")
DATA_DIR = PurePosixPath("/var/lib/parley")
HAPROXY_STATS_SOCKET = PurePosixPath("/run/haproxy/admin.sock")
LETSENCRYPT_LIVE = PurePosixPath("/etc/letsencrypt/live")
# Debian's nginx default site serves this folder on port 80, so certbot's webroot challenge for the first
# certificate works before the Parley site (which cannot load without a certificate) is enabled; renewals then
# go through the Parley site's own challenge location, which serves the same folder.
ACME_WEBROOT = PurePosixPath("/var/www/html")
# nginx and HAProxy refuse larger request bodies before they reach a node; the app's own limit is
# max(64 KiB, 8 x PARLEY_MAX_BODY_BYTES), so this matches it at the default settings.
MAX_REQUEST_BYTES = 65536
MAX_WORKERS = 64
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_PORT = re.compile(r"[0-9]+")
# systemd expands `$VAR` in EnvironmentFile values and strips quotes; a URL is written as it is, so it must not
# hold what would be changed on the way (percent-encode such characters in passwords: `$` is %24).
_ENV_UNSAFE = re.compile(r"[\s\"'\\$`]")


class RenderError(Invalid):
    """Bad input to `parley render`; `flag` is the option to fix."""

    def __init__(self, flag: str, detail: str) -> None:
        super().__init__(f"{flag}: {detail}")
        self.flag = flag


class LoadBalancer(enum.StrEnum):
    nginx = "nginx"
    haproxy = "haproxy"


@dataclass(frozen=True)
class Endpoint:
    """A HOST:PORT (an IPv6 address as [ADDRESS]:PORT), as given to --node, --drain and --listen."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, *, flag: str) -> Endpoint:
        if text.startswith("["):
            host, separator, port = text[1:].partition("]:")
            valid_host = separator != "" and _is_ip(host) and ":" in host
        else:
            host, separator, port = text.rpartition(":")
            valid_host = ":" not in host and (_is_ip(host) or _is_hostname(host))
        if not separator or not _PORT.fullmatch(port):
            raise RenderError(flag, f"{text!r} is not HOST:PORT (an IPv6 address is written [ADDRESS]:PORT)")
        if not valid_host:
            raise RenderError(flag, f"{host!r} in {text!r} is neither an IP address nor a hostname")
        return cls(host=host, port=check_port(int(port), flag=flag))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Tls:
    """A certificate chain and its private key; `key` is None when the chain file holds the key too."""

    cert: PurePosixPath
    key: PurePosixPath | None = None

    @classmethod
    def from_flags(cls, cert: str | None, key: str | None) -> Tls | None:
        if cert is None:
            if key is not None:
                raise RenderError("--tls-cert", "--tls-key needs the certificate it belongs to")
            return None
        return cls(cert=absolute(cert, flag="--tls-cert"), key=None if key is None else absolute(key, flag="--tls-key"))


@dataclass(frozen=True, kw_only=True)
class SingleMachine:
    """One host: `parley serve` under systemd on loopback, nginx in front terminating TLS."""

    domain: str
    tls: Tls | None = None
    acme: bool = False
    port: int = 8000
    workers: int = 1
    user: str = "parley"
    install_dir: PurePosixPath = INSTALL_DIR
    data_dir: PurePosixPath = DATA_DIR
    database_url: str | None = None
    bus_url: str = "memory://"
    http_port: int = 80
    https_port: int = 443

    def __post_init__(self) -> None:
        check_domain(self.domain)
        if self.acme and self.tls is not None:
            raise RenderError("--acme", "choose --acme or --tls-cert/--tls-key, not both")
        if not self.acme and self.tls is None:
            raise RenderError("--tls-cert", "give --tls-cert and --tls-key, or --acme for a Let's Encrypt certificate")
        if self.tls is not None and self.tls.key is None:
            raise RenderError("--tls-key", "nginx needs the private key of --tls-cert")
        for flag, port in (("--port", self.port), ("--http-port", self.http_port), ("--https-port", self.https_port)):
            check_port(port, flag=flag)
        if len({self.port, self.http_port, self.https_port}) < 3:
            raise RenderError("--port", "--port, --http-port and --https-port must be three different ports")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise RenderError("--workers", f"{self.workers} is out of range 1-{MAX_WORKERS}")
        if self.workers > 1 and not self.bus_url.startswith("redis"):
            raise RenderError("--workers", "more than one worker needs --bus-url redis://... so workers share events")
        if not _USER.fullmatch(self.user) or self.user == "root":
            raise RenderError("--user", f"{self.user!r} is not a valid non-root user name")
        for flag, folder in (("--install-dir", self.install_dir), ("--data-dir", self.data_dir)):
            absolute(str(folder), flag=flag)
        self._check_storage()

    def _check_storage(self) -> None:
        check_database_url(self.store_url)
        check_bus_url(self.bus_url)
        sqlite_file = PurePosixPath(self.store_url.partition(":///")[2])
        if (
            self.store_url.startswith("sqlite")
            and sqlite_file.is_absolute()
            and self.data_dir not in sqlite_file.parents
        ):
            raise RenderError(
                "--database-url",
                f"the SQLite file must be inside --data-dir {self.data_dir}, the only folder the service may write",
            )

    @property
    def certificate(self) -> Tls:
        if self.tls is not None:
            return self.tls
        live = LETSENCRYPT_LIVE / self.domain
        return Tls(cert=live / "fullchain.pem", key=live / "privkey.pem")

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'parley.db'}"


@dataclass(frozen=True, kw_only=True)
class Cluster:
    """A load balancer in front of N `parley serve` nodes; `drain` nodes get no new connections."""

    lb: LoadBalancer
    nodes: tuple[Endpoint, ...]
    listen: Endpoint | None = None
    tls: Tls | None = None
    drain: tuple[Endpoint, ...] = ()
    stats_socket: PurePosixPath = HAPROXY_STATS_SOCKET

    def __post_init__(self) -> None:
        if not self.nodes:
            raise RenderError("--node", "give at least one node")
        if duplicates := sorted({str(node) for node in self.nodes if self.nodes.count(node) > 1}):
            raise RenderError("--node", f"given more than once: {', '.join(duplicates)}")
        if unknown := [str(node) for node in self.drain if node not in self.nodes]:
            raise RenderError("--drain", f"not one of the --node values: {', '.join(unknown)}")
        if set(self.drain) >= set(self.nodes):
            raise RenderError("--drain", "would drain every node and leave none to take new connections")
        if self.tls is not None:
            self._check_tls(self.tls)
        absolute(str(self.stats_socket), flag="--stats-socket")

    def _check_tls(self, tls: Tls) -> None:
        if self.lb is LoadBalancer.nginx and tls.key is None:
            raise RenderError("--tls-key", "nginx needs the private key of --tls-cert")
        if self.lb is LoadBalancer.haproxy and tls.key not in (None, PurePosixPath(f"{tls.cert}.key")):
            raise RenderError(
                "--tls-key",
                f"HAProxy reads the key from the --tls-cert file or from {tls.cert}.key; "
                "put it in one of those and leave --tls-key out or point it there",
            )

    @property
    def bind(self) -> Endpoint:
        return self.listen or Endpoint(host="0.0.0.0", port=443 if self.tls else 80)


@dataclass(frozen=True)
class Artifact:
    """One rendered file: its path inside the output folder, its text and its mode."""

    path: str
    text: str
    mode: int = 0o644


def single_artifacts(config: SingleMachine, *, secret_key: str | None = None) -> list[Artifact]:
    """The unit, the settings with a fresh secret key, the nginx site and the install steps."""
    context: dict[str, Any] = {
        "config": config,
        "tls": config.certificate,
        "config_dir": CONFIG_DIR,
        "acme_webroot": ACME_WEBROOT,
        "max_request_bytes": MAX_REQUEST_BYTES,
        "secret_key": secret_key or secrets.token_urlsafe(48),
    }
    return [
        Artifact("parley.service", _render("parley.service.j2", context)),
        Artifact("parley.env", _render("parley.env.j2", context), mode=0o600),
        Artifact("nginx/parley.conf", _render("nginx-single.conf.j2", context)),
        Artifact("README.txt", _render("single-readme.txt.j2", context)),
    ]


def cluster_artifacts(config: Cluster) -> list[Artifact]:
    """The load balancer's configuration and the steps to install it and to drain a node."""
    context: dict[str, Any] = {
        "config": config,
        "servers": [(f"node{index}", node, node in config.drain) for index, node in enumerate(config.nodes, 1)],
        "max_request_bytes": MAX_REQUEST_BYTES,
    }
    if config.lb is LoadBalancer.nginx:
        main = Artifact("nginx/parley-cluster.conf", _render("nginx-cluster.conf.j2", context))
    else:
        main = Artifact("haproxy/haproxy.cfg", _render("haproxy.cfg.j2", context))
    return [main, Artifact("README.txt", _render("cluster-readme.txt.j2", context))]


def write(artifacts: Sequence[Artifact], out: Path, *, force: bool) -> list[Path]:
    """Write `artifacts` under `out`: refused if `out` holds anything unless `force`, which replaces only
    the rendered files. Each file gets its mode before its content, so a secret is never readable by others."""
    if out.exists() and not out.is_dir():
        raise RenderError("--out", f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise RenderError("--out", f"{out} is not empty; pass --force to replace the rendered files in it")
    written = []
    for artifact in artifacts:
        path = out / artifact.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, artifact.mode)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                os.fchmod(file.fileno(), artifact.mode)
                file.write(artifact.text)
        except OSError as error:
            raise RenderError("--out", f"cannot write {path}: {error.strerror}") from error
        written.append(path)
    return written


def check_port(port: int, *, flag: str) -> int:
    if not 1 <= port <= 65535:
        raise RenderError(flag, f"port {port} is out of range 1-65535")
    return port


def check_domain(domain: str) -> str:
    if not _is_hostname(domain) or domain.rsplit(".", 1)[-1].isdigit():
        raise RenderError("--domain", f"{domain!r} is not a hostname (for example chat.example.org)")
    return domain


def check_database_url(url: str) -> str:
    if url.split(":", 1)[0].split("+", 1)[0] not in DATABASE_SCHEMES or "://" not in url:
        raise RenderError("--database-url", "use sqlite+aiosqlite://, postgresql+asyncpg:// or mysql+asyncmy://")
    return _env_safe(url, flag="--database-url")


def check_bus_url(url: str) -> str:
    if url.split(":", 1)[0] not in BUS_SCHEMES or "://" not in url:
        raise RenderError("--bus-url", "use memory:// or redis://HOST:6379/0 (rediss:// for TLS)")
    return _env_safe(url, flag="--bus-url")


def absolute(path: str, *, flag: str) -> PurePosixPath:
    if not PurePosixPath(path).is_absolute():
        raise RenderError(flag, f"{path!r} must be an absolute path")
    return PurePosixPath(path)


def _env_safe(value: str, *, flag: str) -> str:
    if _ENV_UNSAFE.search(value):
        raise RenderError(flag, "must not hold spaces, quotes, backslashes, $ or `; percent-encode them ($ is %24)")
    return value


def _is_hostname(text: str) -> bool:
    labels = text.removesuffix(".").split(".")
    return len(text) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _render(name: str, context: dict[str, Any]) -> str:
    return _templates().get_template(name).render(context)


@functools.cache
def _templates() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("app.deploy"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
