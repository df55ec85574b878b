"""The Store contract (app/store/base.py), run against every backend: SQLite, PostgreSQL, MariaDB."""

from __future__ import annotations

import asyncio

import pytest

from app.domain import Role, RoomKind
from app.errors import Conflict, NotFound, Unavailable
from app.store.sql import SqlStore
from tests.factories import make_group, make_user


async def test_usernames_are_unique(store: SqlStore) -> None:
    user = await make_user(store, "alice")
    with pytest.raises(Conflict):
        await make_user(store, "alice")
    credentials = await store.credentials("alice")
    assert credentials is not None and credentials.user == user
    assert await store.get_user(user.id) == user
    assert await store.credentials("nobody") is None
    assert await store.users_by_username(["alice", "nobody"]) == {"alice": user}


async def test_group_room_keeps_owner_and_members(store: SqlStore) -> None:
    alice, bob = await make_user(store), await make_user(store)
    room = await make_group(store, alice, bob, name="team")
    fetched = await store.get_room(room.id)
    assert fetched.name == "team" and fetched.kind is RoomKind.GROUP
    assert {(m.user.id, m.role) for m in fetched.members} == {(alice.id, Role.OWNER), (bob.id, Role.MEMBER)}
    assert (fetched.last_seq, fetched.epoch) == (0, 1)
    with pytest.raises(NotFound):
        await store.get_room("missing")


async def test_one_direct_room_per_pair(store: SqlStore) -> None:
    alice, bob, carol = await make_user(store), await make_user(store), await make_user(store)
    first, created = await store.create_room(kind=RoomKind.DIRECT, name=None, owner=alice, others=[bob])
    again, created_again = await store.create_room(kind=RoomKind.DIRECT, name=None, owner=bob, others=[alice])
    other, _ = await store.create_room(kind=RoomKind.DIRECT, name=None, owner=alice, others=[carol])
    assert created and not created_again
    assert again.id == first.id != other.id


async def test_concurrent_direct_room_creation_yields_one_room(store: SqlStore) -> None:
    alice, bob = await make_user(store), await make_user(store)
    results = await asyncio.gather(
        *(store.create_room(kind=RoomKind.DIRECT, name=None, owner=alice, others=[bob]) for _ in range(8))
    )
    assert len({room.id for room, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_seq_starts_at_one_and_grows_by_one(store: SqlStore) -> None:
    alice = await make_user(store)
    room = await make_group(store, alice)
    seqs = []
    for i in range(5):
        message, created = await store.append_message(
            room_id=room.id, sender_id=alice.id, client_msg_id=f"c{i}", body=f"hello {i}"
        )
        assert created
        seqs.append(message.seq)
    assert seqs == [1, 2, 3, 4, 5]
    assert (await store.get_room(room.id)).last_seq == 5


async def test_send_is_idempotent_on_client_msg_id(store: SqlStore) -> None:
    alice, bob = await make_user(store), await make_user(store)
    room = await make_group(store, alice, bob)
    first, created = await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id="m1", body="a")
    again, created_again = await store.append_message(
        room_id=room.id, sender_id=alice.id, client_msg_id="m1", body="a changed body"
    )
    other_sender, _ = await store.append_message(room_id=room.id, sender_id=bob.id, client_msg_id="m1", body="b")
    other_case, _ = await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id="M1", body="c")
    assert created and not created_again
    assert again == first
    assert [other_sender.seq, other_case.seq] == [2, 3]
    assert (await store.get_room(room.id)).last_seq == 3


async def test_concurrent_senders_get_gap_free_unique_seqs(store: SqlStore) -> None:
    users = [await make_user(store) for _ in range(20)]
    room = await make_group(store, users[0], *users[1:])

    async def sender(index: int) -> list[int]:
        seqs = []
        for n in range(10):
            message, _ = await store.append_message(
                room_id=room.id, sender_id=users[index].id, client_msg_id=f"{index}-{n}", body="x"
            )
            seqs.append(message.seq)
        return seqs

    results = await asyncio.gather(*(sender(i) for i in range(20)))
    assert sorted(seq for seqs in results for seq in seqs) == list(range(1, 201))
    assert all(seqs == sorted(seqs) for seqs in results)
    page = await store.messages(room.id, after_seq=0, before_seq=None, limit=200)
    assert [m.seq for m in page.messages] == list(range(1, 201))


async def test_concurrent_duplicates_store_one_copy(store: SqlStore) -> None:
    alice = await make_user(store)
    room = await make_group(store, alice)
    results = await asyncio.gather(
        *(store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id="same", body="x") for _ in range(10))
    )
    assert sum(created for _, created in results) == 1
    assert len({message.id for message, _ in results}) == 1
    assert (await store.get_room(room.id)).last_seq == 1


async def test_append_to_unknown_room_is_not_found(store: SqlStore) -> None:
    alice = await make_user(store)
    with pytest.raises(NotFound):
        await store.append_message(room_id="missing", sender_id=alice.id, client_msg_id="x", body="x")


async def test_history_pages_in_both_directions(store: SqlStore) -> None:
    alice = await make_user(store)
    room = await make_group(store, alice)
    for i in range(1, 8):
        await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id=str(i), body=f"m{i}")

    async def seqs(after: int | None, before: int | None, limit: int) -> tuple[list[int], bool]:
        page = await store.messages(room.id, after_seq=after, before_seq=before, limit=limit)
        return [m.seq for m in page.messages], page.has_more

    assert await seqs(None, None, 3) == ([5, 6, 7], True)
    assert await seqs(None, 5, 3) == ([2, 3, 4], True)
    assert await seqs(None, 2, 3) == ([1], False)
    assert await seqs(0, None, 3) == ([1, 2, 3], True)
    assert await seqs(4, None, 3) == ([5, 6, 7], False)
    assert await seqs(7, None, 3) == ([], False)


async def test_sync_spans_rooms_within_the_limit(store: SqlStore) -> None:
    alice = await make_user(store)
    rooms = [await make_group(store, alice, name=f"r{i}") for i in range(3)]
    for room in rooms:
        for i in range(4):
            await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id=str(i), body="x")
    cursors = {rooms[0].id: 0, rooms[1].id: 2, rooms[2].id: 4}
    first = await store.sync(cursors, limit=5)
    assert [(m.room_id, m.seq) for m in first.messages] == [(rooms[0].id, s) for s in (1, 2, 3, 4)] + [(rooms[1].id, 3)]
    assert first.has_more
    everything = await store.sync(cursors, limit=200)
    assert len(everything.messages) == 6 and not everything.has_more


async def test_edit_and_delete_keep_seq_gap_free(store: SqlStore) -> None:
    alice = await make_user(store)
    room = await make_group(store, alice)
    for i in range(3):
        await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id=str(i), body=f"m{i}")
    edited = await store.edit_message(room_id=room.id, seq=2, body="changed")
    assert edited.body == "changed" and edited.edited_at is not None
    deleted = await store.delete_message(room_id=room.id, seq=1)
    assert deleted.deleted and deleted.public()["body"] == ""
    page = await store.messages(room.id, after_seq=0, before_seq=None, limit=10)
    assert [(m.seq, m.deleted) for m in page.messages] == [(1, True), (2, False), (3, False)]
    with pytest.raises(NotFound):
        await store.edit_message(room_id=room.id, seq=99, body="x")
    with pytest.raises(NotFound):
        await store.get_message(room.id, 99)


async def test_read_cursor_only_moves_forward_and_not_past_the_end(store: SqlStore) -> None:
    alice, bob = await make_user(store), await make_user(store)
    room = await make_group(store, alice, bob)
    for i in range(5):
        await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id=str(i), body="x")
    assert await store.mark_read(room_id=room.id, user_id=bob.id, seq=3) == 3
    assert await store.mark_read(room_id=room.id, user_id=bob.id, seq=1) == 3
    assert await store.mark_read(room_id=room.id, user_id=bob.id, seq=50) == 5
    with pytest.raises(NotFound):
        await store.mark_read(room_id=room.id, user_id="stranger", seq=1)


async def test_room_list_counts_unread_from_others_and_sorts_by_activity(store: SqlStore) -> None:
    alice, bob = await make_user(store), await make_user(store)
    quiet = await make_group(store, alice, bob, name="quiet")
    busy = await make_group(store, alice, bob, name="busy")
    await store.append_message(room_id=quiet.id, sender_id=alice.id, client_msg_id="q", body="x")
    await asyncio.sleep(0.01)
    for i in range(3):
        await store.append_message(room_id=busy.id, sender_id=alice.id, client_msg_id=str(i), body="x")
    await store.append_message(room_id=busy.id, sender_id=bob.id, client_msg_id="b", body="mine")
    await store.delete_message(room_id=busy.id, seq=3)
    await store.mark_read(room_id=busy.id, user_id=bob.id, seq=1)
    views = await store.rooms_for(bob.id)
    assert [v.room.name for v in views] == ["busy", "quiet"]
    assert [(v.read_seq, v.unread) for v in views] == [(1, 1), (0, 1)]
    assert sorted(await store.room_ids_for(bob.id)) == sorted([quiet.id, busy.id])


async def test_membership_changes(store: SqlStore) -> None:
    alice, bob, carol = await make_user(store), await make_user(store), await make_user(store)
    room = await make_group(store, alice, bob)
    room = await store.add_member(room_id=room.id, user_id=carol.id, role=Role.MEMBER)
    assert set(room.member_ids()) == {alice.id, bob.id, carol.id}
    with pytest.raises(Conflict):
        await store.add_member(room_id=room.id, user_id=carol.id, role=Role.MEMBER)
    assert sorted(await store.contacts(carol.id)) == sorted([alice.id, bob.id])
    room = await store.remove_member(room_id=room.id, user_id=bob.id)
    assert set(room.member_ids()) == {alice.id, carol.id}
    assert set(await store.room_member_ids(room.id)) == {alice.id, carol.id}
    assert await store.room_ids_for(bob.id) == []
    assert await store.room_member_ids("missing") == []


async def test_unicode_round_trips(store: SqlStore) -> None:
    alice = await make_user(store)
    room = await make_group(store, alice, name="équipe 🚀")
    body = "emoji 😀, CJK 漢字, RTL עברית, combining é"
    message, _ = await store.append_message(room_id=room.id, sender_id=alice.id, client_msg_id="ü😀", body=body)
    fetched = await store.get_message(room.id, message.seq)
    assert (fetched.body, fetched.client_msg_id) == (body, "ü😀")
    assert (await store.get_room(room.id)).name == "équipe 🚀"


async def test_bump_epochs_changes_every_room(store: SqlStore) -> None:
    alice = await make_user(store)
    rooms = [await make_group(store, alice, name=str(i)) for i in range(3)]
    assert await store.bump_epochs() == 3
    assert {(await store.get_room(r.id)).epoch for r in rooms} == {2}
    await store.bump_epochs(seen={rooms[0].id: 7, "gone": 9})
    assert [(await store.get_room(r.id)).epoch for r in rooms] == [8, 3, 3]


async def test_unreachable_database_is_unavailable() -> None:
    store = SqlStore.from_url("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    try:
        with pytest.raises(Unavailable):
            await store.ping()
        with pytest.raises(Unavailable):
            await store.append_message(room_id="r", sender_id="u", client_msg_id="c", body="x")
    finally:
        await store.close()
