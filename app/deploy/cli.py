"""`parley render single|cluster`: write deployment artifacts into a folder. Bad input exits 2 naming the flag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer

from app.deploy.render import (
    DATA_DIR,
    HAPROXY_STATS_SOCKET,
    INSTALL_DIR,
    Artifact,
    Cluster,
    Endpoint,
    LoadBalancer,
    RenderError,
    SingleMachine,
    Tls,
    cluster_artifacts,
    single_artifacts,
    write,
)

render = typer.Typer(help="Write deployment artifacts: systemd + nginx for one machine, a load balancer for a cluster.")

Out = Annotated[Path, typer.Option(help="Folder to write into; must be empty unless --force.")]
Force = Annotated[
    bool, typer.Option("--force", help="Write into a non-empty --out, replacing only the rendered files.")
]
TlsCert = Annotated[str | None, typer.Option(help="Certificate chain (PEM) on the target machine.")]
TlsKey = Annotated[str | None, typer.Option(help="Private key (PEM) of --tls-cert on the target machine.")]


@render.command()
def single(
    out: Out,
    domain: Annotated[str, typer.Option(help="Public hostname, e.g. chat.example.org.")],
    port: Annotated[int, typer.Option(help="Loopback port `parley serve` listens on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (more than 1 needs --bus-url redis://).")] = 1,
    user: Annotated[str, typer.Option(help="System user the service runs as (not root).")] = "parley",
    install_dir: Annotated[str, typer.Option(help="Virtualenv Parley is installed in.")] = str(INSTALL_DIR),
    data_dir: Annotated[str, typer.Option(help="The service's only writable folder.")] = str(DATA_DIR),
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    acme: Annotated[
        bool, typer.Option("--acme", help="Use a Let's Encrypt certificate from certbot (webroot).")
    ] = False,
    database_url: Annotated[str | None, typer.Option(help="PARLEY_DATABASE_URL; default SQLite in --data-dir.")] = None,
    bus_url: Annotated[str, typer.Option(help="PARLEY_BUS_URL.")] = "memory://",
    http_port: Annotated[int, typer.Option(help="nginx's HTTP port (redirects to HTTPS).")] = 80,
    https_port: Annotated[int, typer.Option(help="nginx's HTTPS port.")] = 443,
    force: Force = False,
) -> None:
    """One machine: parley.service (systemd), parley.env (settings, new secret key), nginx/parley.conf."""

    def artifacts() -> list[Artifact]:
        config = SingleMachine(
            domain=domain,
            tls=Tls.from_flags(tls_cert, tls_key),
            acme=acme,
            port=port,
            workers=workers,
            user=user,
            install_dir=PurePosixPath(install_dir),
            data_dir=PurePosixPath(data_dir),
            database_url=database_url,
            bus_url=bus_url,
            http_port=http_port,
            https_port=https_port,
        )
        return single_artifacts(config)

    _write(artifacts, out, force=force)


@render.command()
def cluster(
    out: Out,
    lb: Annotated[LoadBalancer, typer.Option(help="The load balancer to configure.")],
    node: Annotated[list[str], typer.Option(help="A node's HOST:PORT; repeat for each node.")],
    listen: Annotated[str | None, typer.Option(help="HOST:PORT to listen on; 0.0.0.0:80, or 0.0.0.0:443 with TLS.")] = (
        None
    ),
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    drain: Annotated[list[str] | None, typer.Option(help="A node (HOST:PORT) to drain; repeatable.")] = None,
    stats_socket: Annotated[str, typer.Option(help="HAProxy's runtime API socket.")] = str(HAPROXY_STATS_SOCKET),
    force: Force = False,
) -> None:
    """A load balancer (nginx or HAProxy) in front of `parley serve` nodes, with WebSockets and draining."""

    def artifacts() -> list[Artifact]:
        config = Cluster(
            lb=lb,
            nodes=tuple(Endpoint.parse(text, flag="--node") for text in node),
            listen=None if listen is None else Endpoint.parse(listen, flag="--listen"),
            tls=Tls.from_flags(tls_cert, tls_key),
            drain=tuple(Endpoint.parse(text, flag="--drain") for text in drain or ()),
            stats_socket=PurePosixPath(stats_socket),
        )
        return cluster_artifacts(config)

    _write(artifacts, out, force=force)


def _write(artifacts: Callable[[], list[Artifact]], out: Path, *, force: bool) -> None:
    try:
        for path in write(artifacts(), out, force=force):
            typer.echo(f"wrote {path}")
    except RenderError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2) from error
