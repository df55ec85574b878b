"""History reads from a lagging replica never return less than the primary holds.

The replica here is a real copy of the primary taken at a moment (SQLite's backup API), which is exactly
what a lagging replica is: a prefix of the primary's history. The streaming replica runs in tests/cluster."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.store.sql import SqlStore
from tests.factories import make_group, make_user
from tests.support.servers import migrate


async def test_a_replica_serves_only_once_it_has_caught_up_with_the_room(tmp_path: Path) -> None:
    primary_path, replica_path = tmp_path / "primary.db", tmp_path / "replica.db"
    migrate({"PARLEY_DATABASE_URL": f"sqlite+aiosqlite:///{primary_path}"})
    reads: list[bool] = []
    store = SqlStore.from_url(
        f"sqlite+aiosqlite:///{primary_path}",
        replica_url=f"sqlite+aiosqlite:///{replica_path}",
        on_replica_read=reads.append,
    )

    def replicate() -> None:
        with sqlite3.connect(primary_path) as source, sqlite3.connect(replica_path) as copy:
            source.backup(copy)

    async def history(after: int | None, before: int | None, limit: int = 50) -> list[tuple[int, str]]:
        page = await store.messages(room.id, after_seq=after, before_seq=before, limit=limit)
        return [(m.seq, m.public()["body"]) for m in page.messages]

    try:
        alice = await make_user(store)
        room = await make_group(store, alice)
        for i in range(10):
            await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id=f"a{i}", body=f"m{i}")
        replicate()
        assert [seq for seq, _ in await history(0, None, 3)] == [1, 2, 3] and reads[-1] is True
        assert [seq for seq, _ in await history(None, 8)] == list(range(1, 8)) and reads[-1] is True

        for i in range(5):  # the replica now lags five messages behind
            await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id=f"b{i}", body="x")
        assert [seq for seq, _ in await history(8, None)] == list(range(9, 16)) and reads[-1] is False
        assert [seq for seq, _ in await history(None, None)] == list(range(1, 16)) and reads[-1] is False
        sync = await store.sync({room.id: 0}, limit=200)
        assert [m.seq for m in sync.messages] == list(range(1, 16))

        replicate()
        await store.edit_message(room_id=room.id, seq=2, body="edited")
        await store.delete_message(room_id=room.id, seq=3)  # the replica lags by an edit and a delete only
        assert (await history(1, None, 2)) == [(2, "edited"), (3, "")] and reads[-1] is False
        replicate()
        assert (await history(1, None, 2)) == [(2, "edited"), (3, "")] and reads[-1] is True
    finally:
        await store.close()


async def test_unreachable_replica_falls_back_to_the_primary(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'primary.db'}"
    migrate({"PARLEY_DATABASE_URL": url})
    reads: list[bool] = []
    store = SqlStore.from_url(
        url, replica_url="postgresql+asyncpg://postgres@127.0.0.1:1/none", on_replica_read=reads.append
    )
    try:
        alice = await make_user(store)
        room = await make_group(store, alice)
        await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id="m", body="x")
        page = await store.messages(room.id, after_seq=0, before_seq=None, limit=10)
        assert [m.seq for m in page.messages] == [1] and reads == [False]
    finally:
        await store.close()
