"""`parley backup` and `parley restore` on SQLite, PostgreSQL and MariaDB, driven through the CLI: round trips
into fresh and into changed databases, refusals, damaged archives, and an SQLite backup taken while a real
`parley serve` takes messages."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import sqlite3
import tarfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import Result
from typer.testing import CliRunner

from app.backup import MANIFEST, backup, read_manifest
from app.cli import cli
from app.domain import RoomKind
from app.store import tables
from app.store.migrate import alembic_config, upgrade
from app.store.sql import SqlStore, make_engine
from tests.factories import make_group, make_user
from tests.support import databases
from tests.support.servers import ServerProcess, migrate

BACKENDS = ["sqlite", "postgresql", "mariadb"]
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
# Bodies that trip up dumps and parsers: quotes, escapes, row separators, SQL words, emoji, the size limit.
BODIES = ["hello", 'it\'s "quoted"\n\\back\\slash\t', "'),('", "NULL", "ünïcödé 😀👍🏽", "x" * 4000, "--;"]

# How each backend notices a payload that was cut short before it was archived.
INCOMPLETE = {"sqlite": "malformed", "postgresql": "pg_restore failed", "mariadb": "the SQL dump is incomplete"}

MakeDatabase = Callable[..., Awaitable[str]]


@pytest.fixture
async def make_database(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[MakeDatabase]:
    """Makes fresh databases for this test: migrated, or blank when `migrated=False` (a missing SQLite file,
    an empty MariaDB database; PostgreSQL ones always come migrated from the template)."""
    made: list[str] = []

    async def make(backend: str, *, migrated: bool = True) -> str:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / f'parley-{len(made)}.db'}"
            if migrated:
                await asyncio.to_thread(upgrade, url)
        elif backend == "postgresql":
            request.getfixturevalue("postgres_template")
            url = await databases.new_postgres()
        else:
            url = await databases.new_mysql(migrate=migrated)
        made.append(url)
        return url

    yield make
    for url in made:
        if url.startswith("mysql"):
            await databases.drop_mysql(url)


async def populate(url: str, *, tag: str = "", messages: int = 120) -> None:
    """Users, a group room and a direct room, messages with awkward bodies, an edit, a tombstone, a cursor."""
    store = SqlStore.from_url(url, pool_size=2)
    try:
        alice, bob, carol = [await make_user(store, f"{name}{tag}") for name in ("alice", "bob", "carol")]
        group = await make_group(store, alice, bob, carol, name=f"general{tag}")
        direct, _ = await store.create_room(kind=RoomKind.DIRECT, name=None, owner=alice, others=[bob])
        for i in range(messages):
            room, sender = (group, alice) if i % 3 else (direct, bob)
            body = BODIES[i % len(BODIES)]
            await store.append_message(room_id=room.id, sender_id=sender.id, client_msg_id=f"m{tag}{i}", body=body)
        await store.edit_message(room_id=group.id, seq=1, body=f"edited {tag} ✎")
        await store.delete_message(room_id=group.id, seq=2)
        await store.mark_read(room_id=group.id, user_id=bob.id, seq=10)
    finally:
        await store.close()


@dataclass(frozen=True)
class Snapshot:
    users: list[tuple[Any, ...]]
    rooms: list[tuple[Any, ...]]
    members: list[tuple[Any, ...]]
    messages_sha256: str
    epochs: dict[str, int]

    @property
    def content(self) -> Snapshot:
        """Everything but the epochs, which a restore moves on."""
        return replace(self, epochs={})


async def snapshot(url: str) -> Snapshot:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:

            async def rows(query: sa.Select[Any]) -> list[tuple[Any, ...]]:
                return sorted(tuple(row) for row in await conn.execute(query))

            m = tables.messages.c
            messages = await rows(
                sa.select(m.room_id, m.seq, m.sender_id, m.client_msg_id, m.body, m.deleted, m.edited_at, m.id)
            )
            normalised = [(*row[:5], bool(row[5]), *row[6:]) for row in messages]
            return Snapshot(
                users=await rows(sa.select(tables.users)),
                rooms=await rows(sa.select(*(c for c in tables.rooms.c if c.name != "epoch"))),
                members=await rows(sa.select(tables.members)),
                messages_sha256=hashlib.sha256(json.dumps(normalised).encode()).hexdigest(),
                epochs=dict((await conn.execute(sa.select(tables.rooms.c.id, tables.rooms.c.epoch))).tuples().all()),
            )
    finally:
        await engine.dispose()


async def parley(*args: str | Path, url: str, env: dict[str, str] | None = None) -> Result:
    """Run the `parley` command in-process (on a thread: backup and restore run their own event loops)."""
    argv = [str(arg) for arg in args]
    environment = {"PARLEY_DATABASE_URL": url, **(env or {})}
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, env=environment)


def succeeded(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def failed(result: Result) -> str:
    """Exit code 1 with one `error:` line on stderr, never a traceback."""
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and not result.stdout, result.output
    return lines[0]


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def repack(archive: Path, out: Path, *, manifest: dict[str, Any] | None = None, cut: float | None = None) -> Path:
    """A copy of `archive` with manifest fields changed and/or its payload cut to a fraction of its size; the
    manifest's size and sha256 are made to match, as if the dump had been incomplete when archived."""
    with tarfile.open(archive) as tar:
        fields = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
        payload = tar.extractfile(fields["payload"]).read()  # type: ignore[union-attr]
    if cut is not None:
        payload = payload[: int(len(payload) * cut)]
    fields |= {"payload_bytes": len(payload), "payload_sha256": hashlib.sha256(payload).hexdigest()}
    fields |= manifest or {}
    with tarfile.open(out, "w") as tar:
        for name, data in ((MANIFEST, json.dumps(fields).encode()), (fields["payload"], payload)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
async def test_round_trip_into_a_fresh_database(backend: str, make_database: MakeDatabase, tmp_path: Path) -> None:
    source = await make_database(backend)
    await populate(source)
    before = await snapshot(source)
    folder = tmp_path / "backups"
    folder.mkdir()
    archive = folder / "parley.backup"

    assert "wrote" in succeeded(await parley("backup", "--out", archive, url=source))
    manifest = read_manifest(archive)
    assert (manifest.schema_revision, manifest.counts.users, manifest.counts.rooms) == (HEAD, 3, 2)
    assert manifest.counts.messages == 120 and archive.stat().st_mode & 0o077 == 0
    assert names_in(folder) == ["parley.backup"]

    target = await make_database(backend, migrated=backend == "postgresql")
    out = succeeded(await parley("restore", archive, url=target))
    assert "3 users, 2 rooms, 120 messages" in out and "replacing" not in out
    after = await snapshot(target)
    assert after.content == before.content
    assert after.epochs == {room: epoch + 1 for room, epoch in before.epochs.items()}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_restore_over_a_changed_database_needs_force(
    backend: str, make_database: MakeDatabase, tmp_path: Path
) -> None:
    url = await make_database(backend)
    await populate(url)
    archived = await snapshot(url)
    archive = tmp_path / "parley.backup"
    succeeded(await parley("backup", "--out", archive, url=url))
    await populate(url, tag="later", messages=30)
    changed = await snapshot(url)

    refusal = failed(await parley("restore", archive, url=url))
    assert "holds 6 users, 4 rooms, 150 messages" in refusal and "--force" in refusal
    assert await snapshot(url) == changed

    assert "replacing 6 users, 4 rooms, 150 messages" in succeeded(await parley("restore", archive, "--force", url=url))
    restored = await snapshot(url)
    assert restored.content == archived.content
    assert restored.epochs == {room: epoch + 1 for room, epoch in archived.epochs.items()}

    # Restored again, each room must still pass the epoch clients saw after the first restore.
    succeeded(await parley("restore", archive, "--force", url=url))
    again = await snapshot(url)
    assert again.content == archived.content
    assert again.epochs == {room: epoch + 2 for room, epoch in archived.epochs.items()}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_truncated_archive_leaves_the_target_unchanged(
    backend: str, make_database: MakeDatabase, tmp_path: Path
) -> None:
    source, target = await make_database(backend), await make_database(backend)
    await populate(source)
    await populate(target, tag="t", messages=10)
    archive = tmp_path / "parley.backup"
    succeeded(await parley("backup", "--out", archive, url=source))
    untouched = await snapshot(target)

    with tarfile.open(archive) as tar:
        payload = tar.getmembers()[1]
    whole, start, end = archive.read_bytes(), payload.offset_data, payload.offset_data + payload.size
    for size in (0, 100, start + 10, (start + end) // 2, end - 1):
        cut = tmp_path / f"cut-{size}.backup"
        cut.write_bytes(whole[:size])
        assert "truncated" in failed(await parley("restore", cut, "--force", url=target))
    assert await snapshot(target) == untouched


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_incomplete_dump_is_refused_before_the_target_changes(
    backend: str, make_database: MakeDatabase, tmp_path: Path
) -> None:
    """The archive is whole but its payload was cut when it was made: SQLite's integrity check, PostgreSQL's
    single transaction and MariaDB's completion marker each keep the target as it was."""
    source, target = await make_database(backend), await make_database(backend)
    await populate(source)
    await populate(target, tag="t", messages=10)
    archive = tmp_path / "parley.backup"
    succeeded(await parley("backup", "--out", archive, url=source))
    untouched = await snapshot(target)

    incomplete = repack(archive, tmp_path / "incomplete.backup", cut=0.9)
    assert INCOMPLETE[backend] in failed(await parley("restore", incomplete, "--force", url=target))
    assert await snapshot(target) == untouched


@pytest.mark.parametrize(("made_on", "restored_on"), [("sqlite", "postgresql"), ("postgresql", "mariadb"),
                                                      ("mariadb", "sqlite")])  # fmt: skip
async def test_an_archive_of_another_backend_is_refused(
    made_on: str, restored_on: str, make_database: MakeDatabase, tmp_path: Path
) -> None:
    source, target = await make_database(made_on), await make_database(restored_on)
    await populate(source, messages=5)
    archive = tmp_path / "parley.backup"
    succeeded(await parley("backup", "--out", archive, url=source))
    untouched = await snapshot(target)

    refusal = failed(await parley("restore", archive, url=target))
    assert f"is a {read_manifest(archive).backend} backup" in refusal
    assert await snapshot(target) == untouched


async def test_an_archive_from_a_newer_schema_is_refused(make_database: MakeDatabase, tmp_path: Path) -> None:
    source, target = await make_database("sqlite"), await make_database("sqlite")
    await populate(source, messages=5)
    archive = tmp_path / "parley.backup"
    succeeded(await parley("backup", "--out", archive, url=source))
    future = repack(archive, tmp_path / "future.backup", manifest={"schema_revision": "9999_future"})

    assert "newer than this Parley knows" in failed(await parley("restore", future, url=target))
    assert (await snapshot(target)).users == []


async def test_failures_are_one_line_and_leave_no_file(make_database: MakeDatabase, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    archive = out / "parley.backup"
    no_tools = {"PATH": str(tmp_path / "empty")}
    blank_sqlite = tmp_path / "blank.db"
    sqlite3.connect(blank_sqlite).close()
    cases = [
        ("pg_dump not found", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", no_tools),
        ("mariadb-dump or mysqldump not found", "mysql+asyncmy://root@127.0.0.1:3306/test", no_tools),
        ("cannot read", "postgresql+asyncpg://postgres@127.0.0.1:1/parley", {}),
        ("Can't connect", "mysql+asyncmy://root@127.0.0.1:1/parley", {}),
        ("no SQLite database", f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}", {}),
        ("not a Parley database", f"sqlite+aiosqlite:///{blank_sqlite}", {}),
    ]
    for expected, url, env in cases:
        assert expected in failed(await parley("backup", "--out", archive, url=url, env=env))
        assert names_in(out) == []

    target = await make_database("sqlite")
    archive.write_bytes(b"not a tar file at all" * 100)
    assert "damaged or truncated" in failed(await parley("restore", archive, url=target))
    assert "no backup archive" in failed(await parley("restore", tmp_path / "missing", url=target))
    succeeded(await parley("backup", "--out", tmp_path / "taken", url=target))
    assert "already exists" in failed(await parley("backup", "--out", tmp_path / "taken", url=target))
    nowhere = f"sqlite+aiosqlite:///{tmp_path / 'no' / 'folder' / 'parley.db'}"
    assert "unable to open" in failed(await parley("restore", tmp_path / "taken", url=nowhere))


def test_sqlite_backup_while_the_server_takes_messages(tmp_path: Path) -> None:
    """Backups taken while four senders post over REST to a real `parley serve` each hold a consistent
    snapshot: integrity_check passes, every room's seqs run 1..last_seq with no gap, and the snapshot falls
    between what was acknowledged before the backup and what was acknowledged (or in flight) after it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}"
    env = {"PARLEY_DATABASE_URL": url, "PARLEY_MESSAGES_PER_SECOND": "100000", "PARLEY_MESSAGE_BURST": "100000",
           "PARLEY_LOG_LEVEL": "WARNING"}  # fmt: skip
    migrate(env)
    server = ServerProcess(env=env, log_path=tmp_path / "server.log").start()
    try:
        senders = Senders(server.base_url, count=4)
        senders.start()
        senders.wait_for(300)
        windows = []
        for i in range(3):
            acknowledged_before = senders.acknowledged
            archive = backup(url, tmp_path / f"live-{i}.backup").path
            windows.append((archive, acknowledged_before, senders.acknowledged))
            senders.wait_for(senders.acknowledged + 100)
        senders.stop()
    finally:
        server.stop()
    assert senders.errors == []
    for archive, acknowledged_before, acknowledged_after in windows:
        count = consistent_message_count(archive, tmp_path / f"{archive.name}.db")
        assert acknowledged_before <= count <= acknowledged_after + senders.count
        assert read_manifest(archive).counts.messages == count


def consistent_message_count(archive: Path, scratch: Path) -> int:
    """Check the SQLite copy in `archive` and return how many messages it holds."""
    with tarfile.open(archive) as tar:
        scratch.write_bytes(tar.extractfile("parley.sqlite3").read())  # type: ignore[union-attr]
    with closing(sqlite3.connect(scratch)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rooms = dict(db.execute("SELECT id, last_seq FROM rooms").fetchall())
        for room_id, last_seq in rooms.items():
            seqs = [seq for (seq,) in db.execute("SELECT seq FROM messages WHERE room_id = ? ORDER BY seq", (room_id,))]
            assert seqs == list(range(1, last_seq + 1))
        return sum(rooms.values())


class Senders:
    """`count` users, each posting to a room of their own and to a shared room, over REST, until stopped."""

    def __init__(self, base_url: str, *, count: int) -> None:
        self.client = httpx.Client(base_url=f"{base_url}/api/v1", timeout=30)
        self.count = count
        self.acknowledged = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        tokens = []
        for i in range(self.count):
            answer = self.client.post("/auth/register", json={"username": f"sender{i}", "password": "correct horse"})
            tokens.append(answer.raise_for_status().json()["token"])
        members = [f"sender{i}" for i in range(self.count)]
        shared = self._room(tokens[0], members)
        for i, token in enumerate(tokens):
            rooms = [shared, self._room(token, [f"sender{i}"])]
            self._threads.append(threading.Thread(target=self._send, args=(token, rooms), daemon=True))
        for thread in self._threads:
            thread.start()

    def _room(self, token: str, members: list[str]) -> str:
        answer = self.client.post("/rooms", json={"kind": "group", "name": "load", "members": members},
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        return str(answer.raise_for_status().json()["id"])

    def _send(self, token: str, rooms: list[str]) -> None:
        headers, n = {"Authorization": f"Bearer {token}"}, 0
        while not self._stop.is_set():
            n += 1
            answer = self.client.post(f"/rooms/{rooms[n % 2]}/messages", headers=headers,
                                      json={"client_msg_id": f"c{n}", "body": f"message {n}"})  # fmt: skip
            if answer.status_code != 201:
                self.errors.append(f"{answer.status_code} {answer.text}")
                return
            with self._lock:
                self.acknowledged += 1

    def wait_for(self, acknowledged: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.acknowledged < acknowledged and not self.errors:
            assert time.monotonic() < deadline, f"only {self.acknowledged} messages in {timeout}s"
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self.client.close()
