"""Who may do what (protocol.md, domain rules): non-members, plain members, the owner and admins, direct
rooms; over REST and WebSocket, including which live frames reach whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.domain import Role
from tests.api.conftest import Account, Parley, Socket, assert_error


@dataclass(frozen=True)
class World:
    """Alice owns `group` with Bob and Erin as plain members and Frank as an admin; Alice and Bob also share
    `direct`. Carol is an outsider with a room of her own (with Dave). Message 1 is Alice's, 2 is Bob's."""

    accounts: dict[str, Account]
    group: str
    direct: str

    def __getitem__(self, name: str) -> Account:
        return self.accounts[name]

    def room(self, kind: str) -> str:
        return self.group if kind == "group" else self.direct


@pytest.fixture
def world(parley: Parley) -> World:
    accounts = {name: parley.register(name) for name in ("alice", "bob", "carol", "dave", "erin", "frank")}
    group = parley.group(accounts["alice"], accounts["bob"], accounts["erin"])["id"]
    parley.add_member(group, accounts["frank"], Role.ADMIN)
    direct = parley.direct(accounts["alice"], accounts["bob"]).json()["id"]
    parley.group(accounts["carol"], accounts["dave"], name="elsewhere")
    for room_id in (group, direct):
        parley.send(accounts["alice"], room_id, "from alice")
        parley.send(accounts["bob"], room_id, "from bob")
    return World(accounts=accounts, group=group, direct=direct)


def snapshot(parley: Parley, world: World, room_id: str) -> tuple[Any, ...]:
    """Everything an operation could change in a room, as its owner sees it."""
    room = parley.call(world["alice"], "GET", f"/rooms/{room_id}").json()
    views = [parley.rooms(world[name]).get(room_id) for name in ("alice", "bob")]
    return room, parley.history(world["alice"], room_id), views


# (operation, method, path, body); ROOM is the room under test.
ROOM_OPERATIONS = [
    ("see the room", "GET", "/rooms/ROOM", None),
    ("read history", "GET", "/rooms/ROOM/messages", None),
    ("post", "POST", "/rooms/ROOM/messages", {"client_msg_id": "intruder", "body": "hello?"}),
    ("edit", "PATCH", "/rooms/ROOM/messages/1", {"body": "defaced"}),
    ("delete", "DELETE", "/rooms/ROOM/messages/1", None),
    ("mark read", "POST", "/rooms/ROOM/read", {"seq": 2}),
    ("add a member", "POST", "/rooms/ROOM/members", {"username": "dave"}),
    ("add themself", "POST", "/rooms/ROOM/members", {"username": "carol"}),
    ("remove a member", "DELETE", "/rooms/ROOM/members/bob", None),
]
OPERATION_IDS = [operation for operation, *_ in ROOM_OPERATIONS]


@pytest.mark.parametrize("kind", ["group", "direct"])
@pytest.mark.parametrize(("operation", "method", "path", "body"), ROOM_OPERATIONS, ids=OPERATION_IDS)
def test_a_non_member_can_do_nothing_in_a_room(
    parley: Parley, world: World, kind: str, operation: str, method: str, path: str, body: Any
) -> None:
    room_id = world.room(kind)
    before = snapshot(parley, world, room_id)
    response = parley.call(world["carol"], method, path.replace("ROOM", room_id), json=body)
    assert_error(response, 403, "forbidden")
    assert snapshot(parley, world, room_id) == before


@pytest.mark.parametrize(("operation", "method", "path", "body"), ROOM_OPERATIONS, ids=OPERATION_IDS)
def test_an_unknown_room_is_not_found(
    parley: Parley, world: World, operation: str, method: str, path: str, body: Any
) -> None:
    response = parley.call(world["alice"], method, path.replace("ROOM", "no-such-room"), json=body)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(("operation", "method", "path", "body"), ROOM_OPERATIONS, ids=OPERATION_IDS)
def test_no_operation_without_a_token(
    parley: Parley, world: World, operation: str, method: str, path: str, body: Any
) -> None:
    before = snapshot(parley, world, world.group)
    response = parley.call(None, method, path.replace("ROOM", world.group), json=body)
    assert_error(response, 401, "unauthorized")
    assert snapshot(parley, world, world.group) == before


def test_a_non_member_does_not_see_the_room_in_their_list(parley: Parley, world: World) -> None:
    assert world.group not in parley.rooms(world["carol"]) and world.direct not in parley.rooms(world["carol"])
    assert world.group in parley.rooms(world["frank"])


WS_OPERATIONS: list[dict[str, Any]] = [
    {"type": "send", "room_id": "ROOM", "client_msg_id": "intruder", "body": "hello?"},
    {"type": "sync", "rooms": {"ROOM": 0}},
    {"type": "read", "room_id": "ROOM", "seq": 2},
    {"type": "typing", "room_id": "ROOM"},
]


@pytest.mark.parametrize("kind", ["group", "direct"])
@pytest.mark.parametrize("frame", WS_OPERATIONS, ids=[frame["type"] for frame in WS_OPERATIONS])
def test_a_non_member_is_refused_over_websocket(parley: Parley, world: World, kind: str, frame: dict[str, Any]) -> None:
    room_id = world.room(kind)
    before = snapshot(parley, world, room_id)
    with parley.connect(world["carol"]) as socket:
        answer, before_answer = socket.request(_in_room(frame, room_id))
    assert (answer["type"], answer["code"]) == ("error", "forbidden"), answer
    assert before_answer == []
    assert snapshot(parley, world, room_id) == before


def _in_room(frame: dict[str, Any], room_id: str) -> dict[str, Any]:
    if "rooms" in frame:
        return {**frame, "rooms": {room_id: 0}}
    return {**frame, "room_id": room_id}


def test_a_sync_mixing_own_and_foreign_rooms_reveals_nothing(parley: Parley, world: World) -> None:
    own = parley.rooms(world["carol"])
    with parley.connect(world["carol"]) as socket:
        answer, _ = socket.request({"type": "sync", "rooms": {**dict.fromkeys(own, 0), world.group: 0}})
    assert (answer["type"], answer["code"]) == ("error", "forbidden")
    assert "messages" not in answer


# (actor, method, path, body, status); messages 1 and 2 are Alice's and Bob's, Alice owns, Frank is an admin.
MEMBER_CASES = [
    ("bob", "PATCH", "/rooms/ROOM/messages/1", {"body": "x"}, 403),
    ("alice", "PATCH", "/rooms/ROOM/messages/2", {"body": "x"}, 403),
    ("frank", "PATCH", "/rooms/ROOM/messages/2", {"body": "x"}, 403),
    ("alice", "PATCH", "/rooms/ROOM/messages/1", {"body": "x"}, 200),
    ("bob", "DELETE", "/rooms/ROOM/messages/1", None, 403),
    ("erin", "DELETE", "/rooms/ROOM/messages/2", None, 403),
    ("bob", "DELETE", "/rooms/ROOM/messages/2", None, 204),
    ("alice", "DELETE", "/rooms/ROOM/messages/2", None, 204),
    ("frank", "DELETE", "/rooms/ROOM/messages/1", None, 204),
    ("bob", "POST", "/rooms/ROOM/members", {"username": "carol"}, 403),
    ("alice", "POST", "/rooms/ROOM/members", {"username": "carol"}, 200),
    ("frank", "POST", "/rooms/ROOM/members", {"username": "carol"}, 200),
    ("bob", "DELETE", "/rooms/ROOM/members/erin", None, 403),
    ("bob", "DELETE", "/rooms/ROOM/members/alice", None, 403),
    ("frank", "DELETE", "/rooms/ROOM/members/alice", None, 403),
    ("frank", "DELETE", "/rooms/ROOM/members/erin", None, 204),
    ("alice", "DELETE", "/rooms/ROOM/members/frank", None, 204),
    ("erin", "DELETE", "/rooms/ROOM/members/erin", None, 204),
]


def _case_id(case: tuple[Any, ...]) -> str:
    actor, method, path, _, status = case
    return f"{actor}-{method}-{path.removeprefix('/rooms/ROOM/')}-{status}"


@pytest.mark.parametrize(
    ("actor", "method", "path", "body", "status"), MEMBER_CASES, ids=[_case_id(case) for case in MEMBER_CASES]
)
def test_members_rights_follow_their_role(
    parley: Parley, world: World, actor: str, method: str, path: str, body: Any, status: int
) -> None:
    before = snapshot(parley, world, world.group)
    response = parley.call(world[actor], method, path.replace("ROOM", world.group), json=body)
    assert response.status_code == status, response.text
    if status == 403:
        assert_error(response, 403, "forbidden")
        assert snapshot(parley, world, world.group) == before
    else:
        assert snapshot(parley, world, world.group) != before


@pytest.mark.parametrize(
    ("actor", "method", "path", "body"),
    [
        ("alice", "POST", "/rooms/ROOM/members", {"username": "carol"}),
        ("bob", "POST", "/rooms/ROOM/members", {"username": "carol"}),
        ("alice", "DELETE", "/rooms/ROOM/members/bob", None),
        ("bob", "DELETE", "/rooms/ROOM/members/bob", None),
    ],
    ids=["owner-adds", "other-adds", "owner-removes", "member-leaves"],
)
def test_direct_rooms_refuse_member_changes(
    parley: Parley, world: World, actor: str, method: str, path: str, body: Any
) -> None:
    before = snapshot(parley, world, world.direct)
    response = parley.call(world[actor], method, path.replace("ROOM", world.direct), json=body)
    assert_error(response, 400, "invalid_request")
    assert snapshot(parley, world, world.direct) == before


# Live frames


def room_activity(parley: Parley, world: World, alices: Socket) -> None:
    """Everything members do that makes live frames: connect, send, type, read, edit, delete, disconnect.
    Checks the members got them, so the outsider's silence means something."""
    alice, bob, room_id = world["alice"], world["bob"], world.group
    with parley.connect(bob) as bobs:
        ack, alices_frames = alices.request({"type": "send", "room_id": room_id, "client_msg_id": "live", "body": "hi"})
        assert ack["type"] == "ack"
        alices.send({"type": "typing", "room_id": room_id})
        alices_frames += alices.drain()
        bobs.send({"type": "read", "room_id": room_id, "seq": ack["message"]["seq"]})
        bobs_frames = bobs.drain()
        parley.call(alice, "PATCH", f"/rooms/{room_id}/messages/{ack['message']['seq']}", json={"body": "edited"})
        parley.call(alice, "DELETE", f"/rooms/{room_id}/messages/1")
        bobs_frames += bobs.drain()
    alices_frames += alices.drain()
    assert {"message", "typing", "read", "message.edited", "message.deleted"} <= {f["type"] for f in bobs_frames}
    seen = {(f["type"], f.get("online")) for f in alices_frames}
    assert {("message", None), ("read", None), ("presence", True), ("presence", False)} <= seen


def test_a_non_member_receives_nothing_of_a_rooms_activity(parley: Parley, world: World) -> None:
    """No message, typing, read or presence frame, nor any other: Carol's one room has nobody online."""
    with parley.connect(world["carol"]) as carols, parley.connect(world["alice"]) as alices:
        assert carols.greeting == []
        room_activity(parley, world, alices)
        assert carols.drain() == []


def test_a_removed_member_receives_nothing_more(parley: Parley, world: World) -> None:
    with parley.connect(world["alice"]) as alices, parley.connect(world["erin"]) as erins:
        parley.call(world["alice"], "DELETE", f"/rooms/{world.group}/members/erin")
        assert [f["type"] for f in erins.drain()] == ["room.updated"]
        alices.drain()
        room_activity(parley, world, alices)
        assert erins.drain() == []
    assert_error(parley.call(world["erin"], "GET", f"/rooms/{world.group}/messages"), 403, "forbidden")
