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
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from app import __version__
from app.errors import Conflict, Invalid, NotFound, ParleyError, Unavailable
from app.store.migrate import alembic_config, upgrade
from app.store.sql import SqlStore, make_engine
from app.store.tables import messages, rooms, users

MANIFEST = "manifest.json"
FORMAT = "parley-backup"
FORMAT_VERSION = 1
_COUNTED = {"users": users, "rooms": rooms, "messages": messages}


@dataclass(frozen=True, slots=True)
class Counts:
    users: int
    rooms: int
    messages: int

    def __str__(self) -> str:
        return f"{self.users} users, {self.rooms} rooms, {self.messages} messages"

    @property
    def empty(self) -> bool:
        return not (self.users or self.rooms or self.messages)


@dataclass(frozen=True, slots=True)
class Manifest:
    backend: str
    schema_revision: str
    created_at: str
    counts: Counts
    payload: str
    payload_bytes: int
    payload_sha256: str
    tool: str
    parley_version: str = __version__

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **asdict(self)}, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            fields = json.loads(data)
            if fields.pop("format") != FORMAT or fields.pop("version") > FORMAT_VERSION:
                raise ValueError("not a Parley backup this version can read")
            return cls(**{**fields, "counts": Counts(**fields["counts"])})
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise Invalid(f"unreadable backup manifest: {error}") from error


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    manifest: Manifest
    archive_bytes: int
    seconds: float


@dataclass(frozen=True, slots=True)
class RestoreInfo:
    manifest: Manifest
    replaced: Counts
    restored: Counts
    rooms_bumped: int
    schema_revision: str
    seconds: float


@dataclass(frozen=True, slots=True)
class _Dump:
    schema_revision: str
    counts: Counts
    tool: str


class _Backend(Protocol):
    """Makes and loads one backend's payload. `dump` returns facts read from the same snapshot as the
    payload; `check` rejects a payload that cannot be loaded whole, before the target is touched."""

    name: str
    payload: str

    def dump(self, url: URL, payload: Path) -> _Dump: ...

    def check(self, payload: Path) -> None: ...

    def load(self, url: URL, payload: Path) -> None: ...


def backup(database_url: str, out: Path) -> BackupInfo:
    """Write an archive of the database to `out` (or, if `out` is a folder, a dated file in it). Blocking:
    call it from a thread in async code. Never overwrites a file; raises `ParleyError` on every failure."""
    started = time.monotonic()
    url = _parse(database_url)
    backend = _backend_for(url)
    path = _destination(out, backend.name)
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
                payload_sha256=_sha256(payload),
                tool=dump.tool,
            )
            partial = Path(work) / "archive.partial"
            _pack(partial, manifest, payload)
            os.replace(partial, path)
        _fsync_folder(path.parent)
    except OSError as error:
        raise Unavailable(f"cannot write {path}: {error.strerror or error}") from error
    return BackupInfo(path, manifest, path.stat().st_size, time.monotonic() - started)


def restore(database_url: str, archive: Path, *, force: bool) -> RestoreInfo:
    """Replace the database's content with the archive's, migrate it to the latest schema and give every room
    a new epoch. Refuses (`Conflict`) a database holding data unless `force`. Blocking, like `backup`."""
    started = time.monotonic()
    url = _parse(database_url)
    backend = _backend_for(url)
    with _unpacked(archive, backend) as (manifest, payload):
        _check_revision(manifest.schema_revision, database_url)
        backend.check(payload)
        before, previous_epochs = asyncio.run(_inventory(url))
        if not before.empty and not force:
            raise Conflict(
                f"{_redacted(url)} holds {before}; restoring would replace them with the archive's "
                f"{manifest.counts} (taken {manifest.created_at}). Pass --force to overwrite."
            )
        backend.load(url, payload)
    loaded, _ = asyncio.run(_inventory(url))
    if loaded != manifest.counts:
        raise Invalid(f"the database now holds {loaded}, but the archive records {manifest.counts}; restore again")
    try:
        upgrade(database_url)
    except (CommandError, exc.SQLAlchemyError, OSError) as error:
        raise Unavailable(f"restored, but migrating to the latest schema failed: {_first_line(error)}") from error
    bumped = asyncio.run(_new_epochs(database_url, previous_epochs))
    restored, _ = asyncio.run(_inventory(url))
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head() or ""
    return RestoreInfo(manifest, before, restored, bumped, head, time.monotonic() - started)


def read_manifest(archive: Path) -> Manifest:
    """The manifest alone, without reading the payload."""
    try:
        with tarfile.open(archive, "r:") as tar:
            return Manifest.from_json(_manifest_bytes(tar, archive))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise Invalid(f"{archive} is not a readable Parley backup: {_first_line(error)}") from error


# The archive


def _destination(out: Path, backend: str) -> Path:
    path = out / f"parley-{backend}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.parley" if out.is_dir() else out
    if path.exists():
        raise Conflict(f"{path} already exists; a backup never overwrites a file")
    if not path.parent.is_dir():
        raise NotFound(f"no folder {path.parent} to write the backup into")
    return path


def _pack(partial: Path, manifest: Manifest, payload: Path) -> None:
    data = manifest.to_json()
    info = tarfile.TarInfo(MANIFEST)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
    # Archives hold password hashes: readable by their owner only.
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        with tarfile.open(fileobj=file, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(info, BytesIO(data))
            tar.add(payload, arcname=manifest.payload)
        file.flush()
        os.fsync(file.fileno())


def _manifest_bytes(tar: tarfile.TarFile, archive: Path) -> bytes:
    first = tar.next()
    source = tar.extractfile(first) if first is not None and first.name == MANIFEST else None
    if source is None:
        raise Invalid(f"{archive} is not a Parley backup: it does not start with {MANIFEST}")
    return source.read()


@contextmanager
def _unpacked(archive: Path, backend: _Backend) -> Iterator[tuple[Manifest, Path]]:
    """The manifest and the payload, extracted to a temporary file and verified against the manifest."""
    if not archive.is_file():
        raise NotFound(f"no backup archive at {archive}")
    with tempfile.TemporaryDirectory(prefix="parley-restore-") as work:
        payload = Path(work) / backend.payload
        try:
            with tarfile.open(archive, "r:") as tar:
                manifest = Manifest.from_json(_manifest_bytes(tar, archive))
                if manifest.backend != backend.name:
                    raise Invalid(
                        f"{archive} is a {manifest.backend} backup; it cannot be restored into a "
                        f"{backend.name} database"
                    )
                member = tar.next()
                source = tar.extractfile(member) if member is not None and member.name == backend.payload else None
                if source is None:
                    raise Invalid(f"{archive} has no {backend.payload} after its manifest")
                with payload.open("wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
        except (tarfile.TarError, EOFError) as error:
            raise Invalid(f"{archive} is damaged or truncated ({error}); nothing was restored") from error
        except OSError as error:
            raise Unavailable(f"cannot read {archive}: {error.strerror or error}") from error
        if payload.stat().st_size != manifest.payload_bytes or _sha256(payload) != manifest.payload_sha256:
            raise Invalid(f"{archive} is damaged: its payload does not match its manifest; nothing was restored")
        yield manifest, payload


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# The database, through SQLAlchemy


def _parse(database_url: str) -> URL:
    try:
        return sa.make_url(database_url)
    except exc.ArgumentError as error:
        raise Invalid(f"PARLEY_DATABASE_URL is not a database URL: {error}") from error


def _backend_for(url: URL) -> _Backend:
    name = url.get_backend_name()
    backend = _BACKENDS.get("mysql" if name == "mariadb" else name)
    if backend is None:
        raise Invalid(f"backups support SQLite, PostgreSQL and MariaDB/MySQL, not {name}")
    return backend


def _redacted(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _check_revision(revision: str, database_url: str) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    try:
        scripts.get_revision(revision)
    except (RevisionError, CommandError) as error:
        raise Invalid(
            f"the archive's schema revision {revision!r} is newer than this Parley knows (latest "
            f"{scripts.get_current_head()}); upgrade Parley, then restore"
        ) from error


async def _facts(conn: AsyncConnection) -> tuple[str, Counts]:
    """Schema revision and counts, as this connection's transaction sees them."""
    try:
        revision = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
    except exc.ProgrammingError:
        revision = None
    if revision is None:
        raise Invalid("not a Parley database: no schema revision in alembic_version (run `parley migrate`)")
    counts = [(await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one() for t in _COUNTED.values()]
    return str(revision), Counts(*counts)


async def _inventory(url: URL) -> tuple[Counts, dict[str, int]]:
    """What the database holds now (nothing if it has no Parley tables), and every room's epoch."""
    if url.get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return Counts(0, 0, 0), {}
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
            found = {
                name: (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
                for name, table in _COUNTED.items()
                if name in tables
            }
            epochs: dict[str, int] = {}
            if "rooms" in tables:
                epochs = dict((await conn.execute(sa.select(rooms.c.id, rooms.c.epoch))).tuples().all())
            return Counts(**{name: found.get(name, 0) for name in _COUNTED}), epochs
    except (exc.SQLAlchemyError, OSError) as error:
        raise Unavailable(f"cannot read {_redacted(url)}: {_first_line(error)}") from error
    finally:
        await engine.dispose()


async def _new_epochs(database_url: str, previous: dict[str, int]) -> int:
    store = SqlStore.from_url(database_url, pool_size=1)
    try:
        return await store.bump_epochs(seen=previous)
    except (exc.SQLAlchemyError, ParleyError) as error:
        raise Unavailable(f"restored, but moving rooms to a new epoch failed: {_first_line(error)}") from error
    finally:
        await store.close()


# External dump tools


def _tool(*names: str, package: str) -> str:
    for name in names:
        if found := shutil.which(name):
            return found
    raise Unavailable(f"{' or '.join(names)} not found on PATH; install {package}")


def _run(command: list[str], *, env: dict[str, str], stdin: IO[bytes] | None = None) -> str:
    try:
        result = subprocess.run(command, env={**os.environ, **env}, stdin=stdin, capture_output=True, check=False)
    except OSError as error:
        raise Unavailable(f"cannot run {command[0]}: {error.strerror or error}") from error
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").splitlines() or [f"exit status {result.returncode}"]
        name = Path(command[0]).name
        reason = next((line for line in lines if "error" in line.lower()), lines[0]).strip()
        reason = re.sub(rf"^\S*{re.escape(name)}:\s*(error:\s*)?", "", reason, flags=re.IGNORECASE)
        raise Unavailable(f"{name} failed: {reason}")
    return result.stdout.decode(errors="replace")


def _version(tool: str) -> str:
    return _run([tool, "--version"], env={}).strip().splitlines()[0]


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# SQLite


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise Invalid("backups need an SQLite database file (sqlite+aiosqlite:///path)")
    return Path(url.database)


def _sqlite_facts(path: Path) -> _Dump:
    """Integrity, schema revision and counts of an SQLite file."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise Invalid(f"the SQLite copy fails integrity_check: {problems[0]}")
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
                raise Invalid("not a Parley database: no alembic_version table (run `parley migrate`)")
            revision = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            counts = [db.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in _COUNTED]
    except sqlite3.DatabaseError as error:
        raise Invalid(f"the SQLite copy is unreadable: {error}") from error
    return _Dump(revision, Counts(*counts), f"SQLite {sqlite3.sqlite_version}")


class _Sqlite:
    name = "sqlite"
    payload = "parley.sqlite3"

    def dump(self, url: URL, payload: Path) -> _Dump:
        path = _sqlite_path(url)
        if not path.is_file():
            raise NotFound(f"no SQLite database at {path}")
        try:
            with (
                closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)) as source,
                closing(sqlite3.connect(payload)) as copy,
            ):
                source.execute("PRAGMA busy_timeout=10000")
                # All pages in one step: one read transaction, so one consistent snapshot, while WAL mode lets
                # the server go on writing. (Stepwise copies restart whenever another connection writes.)
                source.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error as error:
            raise Unavailable(f"SQLite backup of {path} failed: {error}") from error
        return _sqlite_facts(payload)

    def check(self, payload: Path) -> None:
        _sqlite_facts(payload)

    def load(self, url: URL, payload: Path) -> None:
        path = _sqlite_path(url)
        try:
            with closing(sqlite3.connect(payload)) as source, closing(sqlite3.connect(path)) as target:
                target.execute("PRAGMA busy_timeout=10000")
                source.backup(target, pages=-1)
        except sqlite3.Error as error:
            raise Unavailable(f"restoring into {path} failed: {error}") from error


# PostgreSQL


def _pg_connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment; the password goes in PGPASSWORD, never on the command line."""
    host = url.query.get("host") or url.host
    args = [f"--dbname={url.database}"]
    args += [f"--host={host}"] if isinstance(host, str) else []
    args += [f"--port={url.port}"] if url.port else []
    args += [f"--username={url.username}"] if url.username else []
    env = {"PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if isinstance(ssl := url.query.get("ssl") or url.query.get("sslmode"), str):
        env["PGSSLMODE"] = ssl
    return args, env


class _Postgres:
    name = "postgresql"
    payload = "parley.pgdump"

    def dump(self, url: URL, payload: Path) -> _Dump:
        pg_dump = _tool("pg_dump", package="the PostgreSQL client (Debian: postgresql-client)")
        return asyncio.run(self._dump(url, payload, pg_dump))

    async def _dump(self, url: URL, payload: Path, pg_dump: str) -> _Dump:
        args, env = _pg_connection(url)
        engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
        try:
            async with engine.connect() as conn:
                # Export this transaction's snapshot and dump from it, so the counts match the dump exactly.
                await conn.execution_options(isolation_level="REPEATABLE READ")
                snapshot = (await conn.execute(sa.text("SELECT pg_export_snapshot()"))).scalar_one()
                revision, counts = await _facts(conn)
                command = [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={payload}", *args]
                await asyncio.to_thread(_run, command, env=env)
        except (exc.SQLAlchemyError, OSError) as error:
            raise Unavailable(f"cannot read {_redacted(url)}: {_first_line(error)}") from error
        finally:
            await engine.dispose()
        return _Dump(revision, counts, _version(pg_dump))

    def check(self, payload: Path) -> None:
        pg_restore = _tool("pg_restore", package="the PostgreSQL client (Debian: postgresql-client)")
        _run([pg_restore, "--list", str(payload)], env={})

    def load(self, url: URL, payload: Path) -> None:
        pg_restore = _tool("pg_restore", package="the PostgreSQL client (Debian: postgresql-client)")
        args, env = _pg_connection(url)
        # --no-owner and --no-privileges: the target may be another cluster, without the source's roles.
        flags = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction"]
        _run([pg_restore, *flags, *args, str(payload)], env=env)


# MariaDB and MySQL

_COMPLETED = b"-- Dump completed"
# Inside a value the dump tool escapes newlines as \n, so every line holds whole rows.
_INSERT = re.compile(rb"INSERT INTO `(\w+)` VALUES\s*")
_QUOTED = re.compile(rb"'(?:[^'\\]|\\.)*'", re.DOTALL)


def _mysql_connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """Client arguments and environment; the password goes in MYSQL_PWD, never on the command line."""
    socket = url.query.get("unix_socket")
    args = ["--default-character-set=utf8mb4"]
    if isinstance(socket, str):
        args.append(f"--socket={socket}")
    else:
        args += ["--protocol=TCP", f"--host={url.host or 'localhost'}"]
    args += [f"--port={url.port}"] if url.port else []
    args += [f"--user={url.username}"] if url.username else []
    return args, {"MYSQL_PWD": str(url.password)} if url.password else {}


def _mysql_dump_facts(payload: Path) -> tuple[str | None, Counts]:
    """Schema revision and row counts read from the dump itself, so they match it exactly."""
    revision, found, table = None, dict.fromkeys(_COUNTED, 0), None
    with payload.open("rb") as dump:
        for line in dump:
            if (match := _INSERT.match(line)) is not None:
                table, line = match[1].decode(), line[match.end() :]
            if table is None:
                continue
            bare = _QUOTED.sub(b"", line)
            if table == "alembic_version" and (quoted := _QUOTED.search(line)) is not None:
                revision = quoted[0][1:-1].decode()
            elif table in found:
                # With the quoted strings removed, every "(" left opens one row.
                found[table] += bare.count(b"(")
            if bare.rstrip().endswith(b";"):
                table = None
    return revision, Counts(**found)


class _Mysql:
    name = "mysql"
    payload = "parley.sql"

    def dump(self, url: URL, payload: Path) -> _Dump:
        tool = _tool("mariadb-dump", "mysqldump", package="the MariaDB client (Debian: mariadb-client)")
        args, env = _mysql_connection(url)
        flags = ["--single-transaction", "--routines", "--triggers", "--no-tablespaces"]
        _run([tool, *args, *flags, f"--result-file={payload}", str(url.database)], env=env)
        self.check(payload)
        revision, counts = _mysql_dump_facts(payload)
        if revision is None:
            raise Invalid("not a Parley database: no alembic_version row (run `parley migrate`)")
        return _Dump(revision, counts, _version(tool))

    def check(self, payload: Path) -> None:
        with payload.open("rb") as dump:
            dump.seek(max(0, payload.stat().st_size - 4096))
            if _COMPLETED not in dump.read():
                raise Invalid(f"the SQL dump is incomplete (no {_COMPLETED.decode()!r} at its end)")

    def load(self, url: URL, payload: Path) -> None:
        client = _tool("mariadb", "mysql", package="the MariaDB client (Debian: mariadb-client)")
        args, env = _mysql_connection(url)
        with payload.open("rb") as dump:
            _run([client, *args, "--batch", str(url.database)], env=env, stdin=dump)


_BACKENDS: dict[str, _Backend] = {"sqlite": _Sqlite(), "postgresql": _Postgres(), "mysql": _Mysql()}


def human_size(size: int) -> str:
    """A byte count for people: 1.2 MB."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
