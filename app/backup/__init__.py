"""`parley backup` and `parley restore`: one archive file per backup, for SQLite, PostgreSQL and MariaDB/MySQL.

An archive is an uncompressed tar file with two members, in this order:
- `manifest.json`: the backend, the Parley schema revision (Alembic, from `alembic_version`), the time, the
  counts of users, rooms and messages in the archive, and the payload's size and sha256
  (`tar -xOf FILE manifest.json` prints it);
- the payload: `parley.sqlite3` (a copy made with SQLite's online backup API), `parley.pgdump`
  (`pg_dump --format=custom`) or `parley.sql` (`mariadb-dump`, or `mysqldump`).

A backup is built in a hidden folder next to its destination and renamed into place only once complete, so a
file with the final name is always a whole archive. A restore checks the whole archive (manifest, payload size
and sha256, backend, schema revision) before it touches the target, refuses a target that holds data unless
forced, and afterwards migrates to the latest schema and moves every room to a new epoch, so clients drop
their caches (protocol.md).

Behind the sha256, which catches an archive damaged or cut short after it was written, each backend guards
against a payload that was incomplete when archived:
- SQLite: the payload must pass `PRAGMA integrity_check`; it is copied into the target in one backup-API step,
  which is one transaction.
- PostgreSQL: `pg_restore --single-transaction` commits all or nothing.
- MariaDB/MySQL: statements piped into the client commit as they run (DDL commits implicitly), so a load cut
  short would leave the target half replaced. The dump tool writes `-- Dump completed` last; a dump without it
  is never archived and never loaded. We chose this over loading into a scratch database and swapping tables
  in: that would also survive a server crash mid-load, but needs CREATE and DROP DATABASE rights a
  least-privilege Parley account lacks. A load that fails midway is reported, and restoring the same archive
  again completes it, since every table is dropped and re-created.
"""

from __future__ import annotations

import asyncio
import os
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import exc
from sqlalchemy.engine import URL

from app.backup.archive import (
    MANIFEST,
    Backend,
    BackupInfo,
    Counts,
    Manifest,
    RestoreInfo,
    destination,
    fsync_folder,
    manifest_bytes,
    pack,
    sha256,
    unpacked,
)
from app.backup.mysql import Mysql
from app.backup.postgres import Postgres
from app.backup.sqlite import Sqlite, sqlite_path
from app.backup.tools import COUNTED, first_line, redacted
from app.errors import Conflict, Invalid, ParleyError, Unavailable
from app.store.migrate import alembic_config, upgrade
from app.store.sql import SqlStore, make_engine
from app.store.tables import rooms

__all__ = ["MANIFEST", "BackupInfo", "Manifest", "RestoreInfo", "backup", "human_size", "read_manifest", "restore"]


def backup(database_url: str, out: Path) -> BackupInfo:
    """Write an archive of the database to `out` (or, if `out` is a folder, a dated file in it). Blocking:
    call it from a thread in async code. Never overwrites a file; raises `ParleyError` on every failure."""
    started = time.monotonic()
    url = _parse(database_url)
    backend = _backend_for(url)
    path = destination(out, backend.name)
    try:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as work:
            payload = Path(work) / backend.payload
            dump = backend.dump(url, payload)
            manifest = Manifest(
                backend=backend.name,
                schema_revision=dump.schema_revision,
                created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                counts=dump.counts,
                payload=backend.payload,
                payload_bytes=payload.stat().st_size,
                payload_sha256=sha256(payload),
                tool=dump.tool,
            )
            partial = Path(work) / "archive.partial"
            pack(partial, manifest, payload)
            os.replace(partial, path)
        fsync_folder(path.parent)
    except OSError as error:
        raise Unavailable(f"cannot write {path}: {error.strerror or error}") from error
    return BackupInfo(path, manifest, path.stat().st_size, time.monotonic() - started)


def restore(database_url: str, archive: Path, *, force: bool) -> RestoreInfo:
    """Replace the database's content with the archive's, migrate it to the latest schema and give every room
    a new epoch. Refuses (`Conflict`) a database holding data unless `force`. Blocking, like `backup`."""
    started = time.monotonic()
    url = _parse(database_url)
    backend = _backend_for(url)
    with unpacked(archive, backend) as (manifest, payload):
        _check_revision(manifest.schema_revision, database_url)
        backend.check(payload)
        before, previous_epochs = asyncio.run(_inventory(url))
        if not before.empty and not force:
            raise Conflict(
                f"{redacted(url)} holds {before}; restoring would replace them with the archive's "
                f"{manifest.counts} (taken {manifest.created_at}). Pass --force to overwrite."
            )
        backend.load(url, payload)
    loaded, _ = asyncio.run(_inventory(url))
    if loaded != manifest.counts:
        raise Invalid(f"the database now holds {loaded}, but the archive records {manifest.counts}; restore again")
    try:
        upgrade(database_url)
    except (CommandError, exc.SQLAlchemyError, OSError) as error:
        raise Unavailable(f"restored, but migrating to the latest schema failed: {first_line(error)}") from error
    bumped = asyncio.run(_new_epochs(database_url, previous_epochs))
    restored, _ = asyncio.run(_inventory(url))
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head() or ""
    return RestoreInfo(manifest, before, restored, bumped, head, time.monotonic() - started)


def read_manifest(archive: Path) -> Manifest:
    """The manifest alone, without reading the payload."""
    try:
        with tarfile.open(archive, "r:") as tar:
            return Manifest.from_json(manifest_bytes(tar, archive))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise Invalid(f"{archive} is not a readable Parley backup: {first_line(error)}") from error


def _parse(database_url: str) -> URL:
    try:
        return sa.make_url(database_url)
    except exc.ArgumentError as error:
        raise Invalid(f"PARLEY_DATABASE_URL is not a database URL: {error}") from error


def _backend_for(url: URL) -> Backend:
    name = url.get_backend_name()
    backend = BACKENDS.get("mysql" if name == "mariadb" else name)
    if backend is None:
        raise Invalid(f"backups support SQLite, PostgreSQL and MariaDB/MySQL, not {name}")
    return backend


def _check_revision(revision: str, database_url: str) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    try:
        scripts.get_revision(revision)
    except (RevisionError, CommandError) as error:
        raise Invalid(
            f"the archive's schema revision {revision!r} is newer than this Parley knows (latest "
            f"{scripts.get_current_head()}); upgrade Parley, then restore"
        ) from error


async def _inventory(url: URL) -> tuple[Counts, dict[str, int]]:
    """What the database holds now (nothing if it has no Parley tables), and every room's epoch."""
    if url.get_backend_name() == "sqlite" and not sqlite_path(url).exists():
        return Counts(0, 0, 0), {}
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
            found = {
                name: (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
                for name, table in COUNTED.items()
                if name in tables
            }
            epochs: dict[str, int] = {}
            if "rooms" in tables:
                epochs = dict((await conn.execute(sa.select(rooms.c.id, rooms.c.epoch))).tuples().all())
            return Counts(**{name: found.get(name, 0) for name in COUNTED}), epochs
    except (exc.SQLAlchemyError, OSError) as error:
        raise Unavailable(f"cannot read {redacted(url)}: {first_line(error)}") from error
    finally:
        await engine.dispose()


async def _new_epochs(database_url: str, previous: dict[str, int]) -> int:
    store = SqlStore.from_url(database_url, pool_size=1)
    try:
        return await store.bump_epochs(seen=previous)
    except (exc.SQLAlchemyError, ParleyError) as error:
        raise Unavailable(f"restored, but moving rooms to a new epoch failed: {first_line(error)}") from error
    finally:
        await store.close()


BACKENDS: dict[str, Backend] = {"sqlite": Sqlite(), "postgresql": Postgres(), "mysql": Mysql()}


def human_size(size: int) -> str:
    """A byte count for people: 1.2 MB."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
