"""The WebSocket protocol (protocol.md, `GET /ws?token=...`), in process: send, sync, read, typing, ping, live
frames from REST actions, presence, bad frames and bad tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import PROTOCOL_CODES, Account, Parley, Socket, signed_token


def of_type(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [frame for frame in frames if frame["type"] == kind]


def send_frame(room_id: str, body: str = "hello", client_msg_id: str = "c1") -> dict[str, Any]:
    return {"type": "send", "room_id": room_id, "client_msg_id": client_msg_id, "body": body}


@pytest.fixture
def pair(parley: Parley) -> tuple[Account, Account, str]:
    """Alice and Bob, sharing a group room."""
    alice, bob = parley.register_many(2)
    return alice, bob, parley.group(alice, bob)["id"]


def test_send_is_acked_then_delivered_to_every_member_connection(
    parley: Parley, pair: tuple[Account, Account, str]
) -> None:
    alice, bob, room_id = pair
    with parley.connect(alice) as sender, parley.connect(alice) as other_tab, parley.connect(bob) as receiver:
        ack, before = sender.request(send_frame(room_id, "hi all"))
        assert ack["type"] == "ack" and of_type(before, "message") == []
        message = ack["message"]
        assert (message["seq"], message["sender"], message["body"]) == (1, alice.id, "hi all")
        for socket in (sender, other_tab, receiver):
            assert of_type(socket.drain(), "message") == [{"type": "message", "message": message}]
    assert parley.history(bob, room_id)["messages"] == [message]


def test_a_repeated_send_is_acked_with_the_stored_message_and_not_delivered_again(
    parley: Parley, pair: tuple[Account, Account, str]
) -> None:
    alice, bob, room_id = pair
    with parley.connect(alice) as sender, parley.connect(bob) as receiver:
        first, _ = sender.request(send_frame(room_id, "once", client_msg_id="same"))
        again, _ = sender.request(send_frame(room_id, "twice", client_msg_id="same"))
        assert again["type"] == "ack" and again["message"] == first["message"]
        assert len(of_type(receiver.drain(), "message")) == 1
    assert parley.seqs(alice, room_id) == ([1], False)


def seed(socket: Socket, room_id: str, count: int) -> None:
    """`count` messages, pipelined: every send first, then every answer."""
    for n in range(count):
        socket.send({**send_frame(room_id, f"m{n}", client_msg_id=f"seed-{n}"), "id": f"seed-{n}"})
    for n in range(count):
        ack, _ = socket.receive_answer(f"seed-{n}")
        assert ack["type"] == "ack", ack


def test_sync_pages_with_has_more_until_everything_arrived(parley: Parley) -> None:
    alice = parley.register("alice")
    busy, quiet = parley.group(alice, name="busy")["id"], parley.group(alice, name="quiet")["id"]
    with parley.connect(alice) as socket:
        seed(socket, busy, 205)
        seed(socket, quiet, 3)
        cursors, seen, pages = {busy: 0, quiet: 0}, [], []
        while True:
            answer, _ = socket.request({"type": "sync", "rooms": cursors})
            assert answer["type"] == "sync", answer
            pages.append((len(answer["messages"]), answer["has_more"]))
            for message in answer["messages"]:
                assert message["seq"] == cursors[message["room_id"]] + 1  # ascending, no gap
                cursors[message["room_id"]] = message["seq"]
                seen.append((message["room_id"], message["seq"]))
            if not answer["has_more"]:
                break
    assert pages == [(200, True), (8, False)]
    assert sorted(seen) == sorted([(busy, n) for n in range(1, 206)] + [(quiet, n) for n in range(1, 4)])


def test_sync_from_the_end_is_empty(parley: Parley, pair: tuple[Account, Account, str]) -> None:
    alice, _, room_id = pair
    parley.send(alice, room_id)
    with parley.connect(alice) as socket:
        answer, _ = socket.request({"type": "sync", "rooms": {room_id: 1}})
    assert (answer["messages"], answer["has_more"]) == ([], False)


def test_read_is_stored_and_announced_to_members(parley: Parley, pair: tuple[Account, Account, str]) -> None:
    alice, bob, room_id = pair
    for _ in range(3):
        parley.send(alice, room_id)
    with parley.connect(alice) as watcher, parley.connect(bob) as reader:
        reader.send({"type": "read", "room_id": room_id, "seq": 9})  # past the end: clamped to the last seq
        expected = {"type": "read", "room_id": room_id, "user": bob.user, "seq": 3}
        assert of_type(reader.drain(), "read") == [expected]
        assert of_type(watcher.drain(), "read") == [expected]
    assert parley.rooms(bob)[room_id]["read_seq"] == 3


def test_typing_goes_to_the_other_members_only(parley: Parley) -> None:
    alice, bob, carol = parley.register_many(3)
    room_id = parley.group(alice, bob, carol)["id"]
    with (
        parley.connect(alice) as typist,
        parley.connect(alice) as typists_tab,
        parley.connect(bob) as bobs,
        parley.connect(carol) as carols,
    ):
        typist.send({"type": "typing", "room_id": room_id})
        assert of_type(typist.drain(), "typing") == []
        expected = [{"type": "typing", "room_id": room_id, "user": alice.user}]
        assert of_type(bobs.drain(), "typing") == expected
        assert of_type(carols.drain(), "typing") == expected
        assert of_type(typists_tab.drain(), "typing") == []
    assert parley.seqs(alice, room_id) == ([], False)  # typing is not stored


@pytest.mark.parametrize("request_id", [7, "abc", 0, -1, 2**63 - 1])
def test_ping_is_answered_with_its_id(parley: Parley, request_id: int | str) -> None:
    with parley.connect(parley.register("alice")) as socket:
        socket.send({"type": "ping", "id": request_id})
        assert socket.receive() == {"type": "pong", "id": request_id}


def test_ping_without_id_is_answered_without_id(parley: Parley) -> None:
    with parley.connect(parley.register("alice")) as socket:
        socket.send({"type": "ping"})
        assert socket.receive() == {"type": "pong"}


def test_json_in_a_binary_frame_is_read_like_text(parley: Parley) -> None:
    with parley.connect(parley.register("alice")) as socket:
        socket.session.send_bytes(b'{"type": "ping", "id": "bin"}')
        assert socket.receive() == {"type": "pong", "id": "bin"}
        socket.session.send_bytes(b"\xff\xfe not utf-8")
        error = socket.receive()
        assert (error["type"], error["code"]) == ("error", "invalid_request")
        socket.drain()


@pytest.mark.parametrize("token", ["", "nonsense", "expired", "wrong-key"])
def test_a_bad_token_closes_with_4401(parley: Parley, token: str) -> None:
    alice = parley.register("alice")
    tokens = {
        "expired": signed_token(alice.id, expires_in=-60),
        "wrong-key": signed_token(alice.id, expires_in=60, key="another-secret-key-of-enough-length-123"),
    }
    with parley.client.websocket_connect(f"/ws?token={tokens.get(token, token)}") as session:
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive_json()
    assert closed.value.code == 4401


def test_a_connection_without_token_closes_with_4401(client: TestClient) -> None:
    with client.websocket_connect("/ws") as session, pytest.raises(WebSocketDisconnect) as closed:
        session.receive_json()
    assert closed.value.code == 4401


# (frame, expected code); "R" becomes a room of the sender's, BIG a body and FRAME a frame over the limits.
BAD_FRAMES = [
    ("not json", "invalid_request"),
    ("[1, 2]", "invalid_request"),
    ('"ping"', "invalid_request"),
    ('{"id": "q"}', "invalid_request"),
    ('{"type": "shout", "id": "q"}', "invalid_request"),
    ('{"type": 5, "id": "q"}', "invalid_request"),
    ('{"type": "send", "id": "q", "room_id": "R", "body": "no client_msg_id"}', "invalid_request"),
    ('{"type": "send", "id": "q", "room_id": "R", "client_msg_id": 1, "body": "x"}', "invalid_request"),
    ('{"type": "send", "id": "q", "room_id": "R", "client_msg_id": "c", "body": " "}', "invalid_request"),
    ('{"type": "send", "id": "q", "room_id": "R", "client_msg_id": "c", "body": "BIG"}', "payload_too_large"),
    ('{"type": "send", "id": "q", "room_id": "nowhere", "client_msg_id": "c", "body": "x"}', "not_found"),
    ('{"type": "sync", "id": "q", "rooms": {"R": "0"}}', "invalid_request"),
    ('{"type": "sync", "id": "q", "rooms": {"R": -1}}', "invalid_request"),
    ('{"type": "sync", "id": "q", "rooms": []}', "invalid_request"),
    ('{"type": "read", "id": "q", "room_id": "R", "seq": -1}', "invalid_request"),
    ('{"type": "read", "id": "q", "room_id": "R", "seq": 1.0}', "invalid_request"),
    ('{"type": "typing", "id": "q"}', "invalid_request"),
    ('{"type": "ping", "id": true}', "invalid_request"),
    ('{"type": "ping", "id": 1.5}', "invalid_request"),
]
# Frames the server cannot read far enough to find their id.
UNREADABLE_FRAMES = [
    ('{"type": "send", "id": "q", "room_id": "R", "client_msg_id": "c", "body": "\\ud800"}', "invalid_request"),
    ('{"type": "ping", "id": "q", "pad": "FRAME"}', "payload_too_large"),
]


@pytest.mark.parametrize(("template", "code"), BAD_FRAMES + UNREADABLE_FRAMES)
def test_a_bad_frame_gets_an_error_and_the_connection_stays_open(
    parley: Parley, pair: tuple[Account, Account, str], template: str, code: str
) -> None:
    alice, _, room_id = pair
    limits = parley.client.get("/api/v1/limits").json()
    text = (
        template.replace('"R"', json.dumps(room_id))
        .replace("BIG", "x" * (limits["max_body_bytes"] + 1))
        .replace("FRAME", "x" * limits["max_frame_bytes"])
    )
    with parley.connect(alice) as socket:
        socket.session.send_text(text)
        error = socket.receive()
        assert (error["type"], error["code"]) == ("error", code), error
        assert isinstance(error["detail"], str) and error["detail"]
        if '"id": "q"' in template and (template, code) not in UNREADABLE_FRAMES:
            assert error["id"] == "q"
        assert socket.drain() == []
    assert parley.seqs(alice, room_id) == ([], False)


def test_a_foreign_room_gets_forbidden_with_the_request_id(parley: Parley) -> None:
    alice, stranger = parley.register_many(2)
    room_id = parley.group(alice)["id"]
    with parley.connect(stranger) as socket:
        answer, _ = socket.request(send_frame(room_id))
    assert (answer["type"], answer["code"]) == ("error", "forbidden")


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "sync", "rooms": {"R": 2**63}},
        {"type": "sync", "rooms": {"R": 2**64 - 1}},
        {"type": "read", "room_id": "R", "seq": 2**63},
        {"type": "read", "room_id": "R", "seq": -(2**63) - 1},
    ],
    ids=["sync-2^63", "sync-2^64-1", "read-2^63", "read-below-i64"],
)
def test_integers_beyond_64_bits_get_a_protocol_answer(
    parley: Parley, pair: tuple[Account, Account, str], frame: dict[str, Any]
) -> None:
    """JSON integers have no size limit; the store's do. Refusing or clamping are both fine, internal_error
    is not."""
    alice, _, room_id = pair
    frame = json.loads(json.dumps(frame).replace('"R"', json.dumps(room_id)))
    with parley.connect(alice) as socket:
        socket.send({**frame, "id": "big"})
        answers = socket.drain()
    assert answers, "neither an answer nor a read frame"
    assert all(error["code"] in PROTOCOL_CODES for error in of_type(answers, "error")), answers


def test_rest_edits_deletes_and_member_changes_are_announced(
    parley: Parley, pair: tuple[Account, Account, str]
) -> None:
    alice, bob, room_id = pair
    carol = parley.register("carol")
    parley.send(alice, room_id, "draft")
    with parley.connect(bob) as bobs, parley.connect(carol) as carols:
        edited = parley.call(alice, "PATCH", f"/rooms/{room_id}/messages/1", json={"body": "final"}).json()
        parley.call(alice, "DELETE", f"/rooms/{room_id}/messages/1")
        room = parley.call(alice, "POST", f"/rooms/{room_id}/members", json={"username": "carol"}).json()
        frames = bobs.drain()
        assert of_type(frames, "message.edited") == [{"type": "message.edited", "message": edited}]
        assert of_type(frames, "message.deleted") == [{"type": "message.deleted", "room_id": room_id, "seq": 1}]
        assert of_type(frames, "room.updated") == [{"type": "room.updated", "room": room}]
        assert of_type(carols.drain(), "room.updated") == [{"type": "room.updated", "room": room}]


def test_presence_follows_connections(parley: Parley, pair: tuple[Account, Account, str]) -> None:
    alice, bob, _ = pair
    with parley.connect(alice) as watcher:
        with parley.connect(bob) as first, parley.connect(bob):
            assert {"type": "presence", "user": alice.id, "online": True} in first.greeting
            assert of_type(watcher.drain(), "presence") == [{"type": "presence", "user": bob.id, "online": True}]
        assert of_type(watcher.drain(), "presence") == [{"type": "presence", "user": bob.id, "online": False}]


def test_sends_over_the_rate_get_rate_limited(make_client: Callable[..., TestClient]) -> None:
    parley = Parley(make_client(messages_per_second=0.2, message_burst=2))
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    with parley.connect(alice) as socket:
        answers = [socket.request(send_frame(room_id, client_msg_id=f"c{n}"))[0] for n in range(3)]
    assert [a["type"] for a in answers] == ["ack", "ack", "error"]
    assert answers[2]["code"] == "rate_limited"
