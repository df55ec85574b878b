"""The `parley` command: serve, migrate, and what operators need."""

from __future__ import annotations

import asyncio
import re
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from typer import _click as click  # Typer vendors its own Click; its group takes its own types
from typer.core import TyperGroup

from app.deploy.cli import render
from app.errors import ParleyError
from app.settings import Settings


class PluginGroup(TyperGroup):
    """`parley`'s commands. Those that packages add (`add_plugin_commands`) are imported only when one of them
    runs or the list of commands is shown, so `parley serve` and `parley migrate` never import the Pulumi SDKs,
    boto3 and the rest that `plan`, `verify`, `policy` and `cost` need."""

    _plugins: dict[str, click.Command] | None = None

    def _plugin_commands(self) -> dict[str, click.Command]:
        if self._plugins is None:
            holder = typer.Typer()
            holder.callback()(lambda: None)
            add_plugin_commands(holder)
            self._plugins = dict(typer.main.get_group(holder).commands)
            self.epilog = holder.info.epilog or self.epilog
        return self._plugins

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self._plugin_commands()]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._plugin_commands().get(cmd_name)


cli = typer.Typer(
    cls=PluginGroup, help="Parley: self-hosted instant messaging.", no_args_is_help=True, add_completion=False
)
cli.add_typer(render, name="render", no_args_is_help=True)


def add_plugin_commands(app: typer.Typer, group: str = "parley.commands") -> None:
    """Add the Typer apps that packages register as entry points of `group` (infra's `plan` and others), so
    `app` never imports them. One whose import fails for want of an optional dependency is left out, and
    `--help` says how to install it."""
    missing: dict[str, list[str]] = {}
    added: set[str] = set()
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        if entry.name in added:
            continue
        try:
            commands = entry.load()
        except ModuleNotFoundError as error:
            missing.setdefault(_install_hint(entry, error.name or entry.module), []).append(entry.name)
            continue
        app.add_typer(commands, name=entry.name)
        added.add(entry.name)
    if missing:
        hints = [f"{', '.join(sorted(set(names)))}: {hint}" for hint, names in missing.items()]
        # Typer renders help as Rich markup, where `[infra]` would be a style tag.
        app.info.epilog = f"Not installed: {'; '.join(hints)}.".replace("[", "\\[")


def _install_hint(entry: EntryPoint, module: str) -> str:
    """Which extra of the entry point's distribution requires `module`'s distribution."""

    def normalised(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    wanted = normalised(module.split(".")[0])
    for requirement in (entry.dist.requires if entry.dist else None) or []:
        name = re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0]
        extra = re.search(r"""extra\s*==\s*["']([^"']+)""", requirement)
        if extra and normalised(name) == wanted and entry.dist is not None:
            return f"install the {extra[1]} extra (pip install '{entry.dist.name}[{extra[1]}]')"
    return f"needs {module}, which is not installed"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"PARLEY_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" if e["loc"] else e["msg"]
            for e in error.errors(include_url=False)
        )
        typer.echo(f"error: bad configuration: {problems}", err=True)
        raise typer.Exit(2) from error


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (need a shared store and bus).")] = 1,
) -> None:
    """Serve the API, the WebSocket gateway and the web client."""
    import uvicorn

    settings = load_settings()
    if workers > 1 and settings.bus_url.startswith("memory"):
        typer.echo("error: --workers > 1 needs PARLEY_BUS_URL=redis://... so workers share events", err=True)
        raise typer.Exit(2)
    uvicorn.run(
        "app.main:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ws="websockets-sansio",
        # Chat frames are small: compression would cost ~35 KB of memory per connection and CPU per frame.
        ws_per_message_deflate=False,
        ws_max_size=max(1 << 20, 4 * settings.max_frame_bytes),
        ws_ping_interval=settings.heartbeat_seconds,
        ws_ping_timeout=settings.heartbeat_seconds,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (safe to run again)."""
    from app.store.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    typer.echo(f"migrated {_redacted(settings.database_url)} to the latest schema")


@cli.command("create-user")
def create_user(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    display_name: Annotated[str | None, typer.Option(help="Shown name; defaults to the username.")] = None,
) -> None:
    """Create an account (for closed deployments where registration is not public)."""
    from app.accounts import Accounts
    from app.store import open_store

    settings = load_settings()

    async def run() -> str:
        store = open_store(settings)
        try:
            accounts = Accounts(
                store=store, secret_key=settings.secret_key, token_ttl_seconds=settings.token_ttl_seconds
            )
            user, _ = await accounts.register(username=username, password=password, display_name=display_name)
            return user.username
        finally:
            await store.close()

    try:
        typer.echo(f"created user {asyncio.run(run())}")
    except ParleyError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(1) from error


@cli.command("backup")
def backup_command(
    out: Annotated[Path, typer.Option("--out", help="Archive to write, or a folder to write a dated one into.")],
) -> None:
    """Write a backup archive of the database (safe while Parley serves)."""
    from app.backup import backup, human_size

    settings = load_settings()
    try:
        info = backup(settings.database_url, out)
    except ParleyError as error:
        typer.echo(f"error: backup failed: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"wrote {info.path} ({human_size(info.archive_bytes)}, {info.seconds:.1f}s): {info.manifest.backend} "
        f"schema {info.manifest.schema_revision}, {info.manifest.counts}"
    )


@cli.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="An archive written by `parley backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite a database that holds data.")] = False,
) -> None:
    """Replace the database's content with a backup archive; every room gets a new epoch."""
    from app.backup import restore

    settings = load_settings()
    try:
        info = restore(settings.database_url, archive, force=force)
    except ParleyError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(1) from error
    replaced = "" if info.replaced.empty else f", replacing {info.replaced}"
    typer.echo(
        f"restored {archive} (taken {info.manifest.created_at}) into {_redacted(settings.database_url)} in "
        f"{info.seconds:.1f}s: {info.restored}{replaced}; schema {info.schema_revision}; "
        f"{info.rooms_bumped} rooms moved to a new epoch"
    )


def _redacted(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
