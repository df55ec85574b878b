"""What the DynamoDB store must do beyond the shared conformance suite: allocate seqs by conditional writes when
several processes race (the suite's writers share one process, whose senders queue on a lock), create rooms
larger than one transaction, treat ids that cannot be keys as unknown, and be created by `parley migrate`."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from app.domain import RoomKind
from app.errors import NotFound, Unavailable
from app.store.dynamodb import DynamoConfig, DynamoStore, create_table, drop_table
from tests.conftest import dynamodb_url
from tests.factories import make_group, make_user
from tests.support.moto import MotoServer


@pytest.fixture
async def url(moto: MotoServer) -> str:
    made = dynamodb_url(moto)
    create_table(made)
    yield made  # type: ignore[misc]
    drop_table(made)


async def test_writers_in_several_processes_get_gap_free_unique_seqs(url: str) -> None:
    """Three stores stand for three Lambda containers: their appends race on the room's conditional write."""
    stores = [DynamoStore.from_url(url, pool_size=4) for _ in range(3)]
    try:
        alice = await make_user(stores[0])
        room = await make_group(stores[0], alice)

        async def sender(index: int) -> list[int]:
            store, seqs = stores[index % 3], []
            for n in range(8):
                message, created = await store.append_message(
                    room_id=room.id, sender_id=alice.id, client_msg_id=f"{index}-{n}", body="x"
                )
                assert created
                seqs.append(message.seq)
            return seqs

        results = await asyncio.gather(*(sender(i) for i in range(6)))
        assert sorted(s for seqs in results for s in seqs) == list(range(1, 49))
        duplicates = await asyncio.gather(
            *(s.append_message(room_id=room.id, sender_id=alice.id, client_msg_id="same", body="x") for s in stores)
        )
        assert sum(created for _, created in duplicates) == 1
        assert len({message.seq for message, _ in duplicates}) == 1
        assert (await stores[1].get_room(room.id)).last_seq == 49
    finally:
        for store in stores:
            await store.close()


async def test_a_room_larger_than_one_transaction_is_created_whole(url: str) -> None:
    store = DynamoStore.from_url(url)
    try:
        users = [await make_user(store) for _ in range(60)]  # 120 membership items, over the 100 of a transaction
        room, created = await store.create_room(kind=RoomKind.GROUP, name="all", owner=users[0], others=users[1:])
        assert created and len(room.members) == 60
        assert sorted(await store.room_member_ids(room.id)) == sorted(u.id for u in users)
        assert [v.room.id for v in await store.rooms_for(users[-1].id)] == [room.id]
    finally:
        await store.close()


async def test_ids_that_cannot_be_keys_name_nothing(url: str) -> None:
    store = DynamoStore.from_url(url)
    try:
        for room_id in ("", "r" * 3000):
            with pytest.raises(NotFound):
                await store.get_room(room_id)
            with pytest.raises(NotFound):
                await store.append_message(room_id=room_id, sender_id="u", client_msg_id="c", body="x")
            assert await store.room_member_ids(room_id) == []
        assert await store.credentials("") is None and await store.get_user("u" * 3000) is None
    finally:
        await store.close()


async def test_an_unreachable_endpoint_is_unavailable() -> None:
    store = DynamoStore(DynamoConfig(table="parley-store", region="us-east-1", endpoint="http://127.0.0.1:1"))
    try:
        with pytest.raises(Unavailable):
            await store.ping()
        with pytest.raises(Unavailable):
            await store.append_message(room_id="r", sender_id="u", client_msg_id="c", body="x")
    finally:
        await store.close()


def test_parley_migrate_creates_the_table_once(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import cli

    url = dynamodb_url(moto)
    monkeypatch.setenv("PARLEY_DATABASE_URL", url)
    try:
        for _ in range(2):  # safe to run again
            result = CliRunner().invoke(cli, ["migrate"])
            assert result.exit_code == 0, result.output
        assert create_table(url) is False  # already there
    finally:
        drop_table(url)
