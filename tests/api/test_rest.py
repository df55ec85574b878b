"""The REST API (protocol.md, prefix /api/v1), in process: accounts, rooms, messages, history, read cursors,
operations and error answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.api.conftest import API, PASSWORD, Account, Parley, assert_error, assert_protocol_answer, signed_token

USER_KEYS = {"id", "username", "display_name"}
ROOM_KEYS = {"id", "kind", "name", "members", "created_at", "last_seq", "epoch"}
MESSAGE_KEYS = {"id", "room_id", "seq", "sender", "client_msg_id", "body", "created_at", "edited_at", "deleted"}


def is_utc_rfc3339(value: str) -> bool:
    return datetime.fromisoformat(value).utcoffset() == timedelta(0)


# Accounts


def test_register_answers_user_and_a_working_token(client: TestClient) -> None:
    response = client.post(
        f"{API}/auth/register", json={"username": " Alice ", "password": PASSWORD, "display_name": "Alice A."}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body["user"]) >= USER_KEYS
    assert (body["user"]["username"], body["user"]["display_name"]) == ("alice", "Alice A.")
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json() == body["user"]


def test_display_name_defaults_to_the_username(parley: Parley) -> None:
    assert parley.register("bob").user["display_name"] == "bob"


@pytest.mark.parametrize("taken", ["alice", "ALICE", " alice"])
def test_register_a_taken_username_is_a_conflict(parley: Parley, taken: str) -> None:
    parley.register("alice")
    response = parley.client.post(f"{API}/auth/register", json={"username": taken, "password": PASSWORD})
    assert_error(response, 409, "conflict")


@pytest.mark.parametrize(
    ("username", "password", "display_name", "status"),
    [
        ("a", PASSWORD, None, 400),
        ("x" * 33, PASSWORD, None, 400),
        ("_alice", PASSWORD, None, 400),
        ("al ice", PASSWORD, None, 400),
        ("élise", PASSWORD, None, 400),
        ("", PASSWORD, None, 400),
        ("alice", "short77", None, 400),
        ("alice", "x" * 257, None, 400),
        ("alice", PASSWORD, "   ", 400),
        ("alice", PASSWORD, "d" * 65, 400),
        (123, PASSWORD, None, 422),
        ("alice", 12345678, None, 422),
        ("alice", None, None, 422),
    ],
)
def test_register_refuses_invalid_input(
    client: TestClient, username: Any, password: Any, display_name: Any, status: int
) -> None:
    body = {"username": username, "password": password, "display_name": display_name}
    assert_error(client.post(f"{API}/auth/register", json=body), status, "invalid_request")


@pytest.mark.parametrize(("username", "password"), [("x" * 32, "p" * 8), ("a1", "p" * 256)])
def test_register_accepts_the_edges_of_the_rules(client: TestClient, username: str, password: str) -> None:
    response = client.post(f"{API}/auth/register", json={"username": username, "password": password})
    assert response.status_code == 201, response.text


def test_login_answers_a_token_for_the_same_user(parley: Parley) -> None:
    alice = parley.register("alice")
    response = parley.client.post(f"{API}/auth/login", json={"username": "ALICE", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["user"] == alice.user
    token = response.json()["token"]
    assert parley.client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).json() == alice.user


def test_login_refuses_wrong_password_and_unknown_user_alike(parley: Parley) -> None:
    parley.register("alice")
    wrong = parley.client.post(f"{API}/auth/login", json={"username": "alice", "password": "not the password"})
    unknown = parley.client.post(f"{API}/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert assert_error(wrong, 401, "unauthorized") == assert_error(unknown, 401, "unauthorized")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic YWxpY2U6cGFzc3dvcmQ=", "expired", "wrong-key"],
)
def test_me_refuses_missing_bad_and_expired_tokens(parley: Parley, authorization: str | None) -> None:
    alice = parley.register("alice")
    tokens = {
        "expired": signed_token(alice.id, expires_in=-60),
        "wrong-key": signed_token(alice.id, expires_in=60, key="another-secret-key-of-enough-length-123"),
    }
    headers = {}
    if authorization is not None:
        headers["Authorization"] = f"Bearer {tokens[authorization]}" if authorization in tokens else authorization
    assert_error(parley.client.get(f"{API}/me", headers=headers), 401, "unauthorized")


# Rooms


def test_create_group_room(parley: Parley) -> None:
    alice, bob, carol = parley.register_many(3)
    response = parley.call(
        alice, "POST", "/rooms", json={"kind": "group", "name": " Team ", "members": [bob.username, carol.username]}
    )
    assert response.status_code == 201
    room = response.json()
    assert set(room) >= ROOM_KEYS
    assert (room["kind"], room["name"], room["last_seq"]) == ("group", "Team", 0)
    assert {m["id"] for m in room["members"]} == {alice.id, bob.id, carol.id}
    assert all(set(m) >= USER_KEYS for m in room["members"])
    assert isinstance(room["epoch"], int) and is_utc_rfc3339(room["created_at"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "group", "members": []}, 400, "invalid_request"),
        ({"kind": "group", "name": "  ", "members": []}, 400, "invalid_request"),
        ({"kind": "group", "name": "n" * 101, "members": []}, 400, "invalid_request"),
        ({"kind": "group", "name": "team", "members": ["nobody"]}, 404, "not_found"),
        ({"kind": "group", "name": "team", "members": ["Not Valid!"]}, 400, "invalid_request"),
        ({"kind": "channel", "name": "team", "members": []}, 422, "invalid_request"),
        ({"kind": "direct", "members": []}, 400, "invalid_request"),
        ({"kind": "direct", "members": ["alice"]}, 400, "invalid_request"),
        ({"kind": "direct", "members": ["nobody"]}, 404, "not_found"),
        ({"kind": "group", "name": "team", "members": "bob"}, 422, "invalid_request"),
    ],
)
def test_create_room_refuses_invalid_input(parley: Parley, body: dict[str, Any], status: int, code: str) -> None:
    alice = parley.register("alice")
    assert_error(parley.call(alice, "POST", "/rooms", json=body), status, code)


def test_direct_room_is_one_per_pair(parley: Parley) -> None:
    alice, bob, carol = parley.register_many(3)
    first = parley.direct(alice, bob)
    again = parley.direct(bob, alice)
    other = parley.direct(alice, carol)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert first.json()["kind"] == "direct"
    assert {m["id"] for m in again.json()["members"]} == {alice.id, bob.id}


def test_room_list_holds_only_the_callers_rooms_with_read_state(parley: Parley) -> None:
    alice, bob, carol = parley.register_many(3)
    shared = parley.group(alice, bob)
    parley.group(carol, name="private")
    rooms = parley.rooms(bob)
    assert list(rooms) == [shared["id"]]
    view = rooms[shared["id"]]
    assert set(view) >= ROOM_KEYS | {"read_seq", "unread"}
    assert (view["read_seq"], view["unread"]) == (0, 0)


def test_get_room(parley: Parley) -> None:
    alice, bob = parley.register_many(2)
    room = parley.group(alice, bob)
    response = parley.call(bob, "GET", f"/rooms/{room['id']}")
    assert response.status_code == 200 and response.json() == room
    assert_error(parley.call(bob, "GET", "/rooms/no-such-room"), 404, "not_found")


def test_owner_adds_a_member(parley: Parley) -> None:
    alice, bob, carol = parley.register_many(3)
    room = parley.group(alice, bob)
    response = parley.call(alice, "POST", f"/rooms/{room['id']}/members", json={"username": carol.username})
    assert response.status_code == 200
    assert {m["id"] for m in response.json()["members"]} == {alice.id, bob.id, carol.id}
    assert room["id"] in parley.rooms(carol)
    again = parley.call(alice, "POST", f"/rooms/{room['id']}/members", json={"username": carol.username})
    assert again.status_code == 200 and len(again.json()["members"]) == 3


def test_adding_an_unknown_user_is_not_found(parley: Parley) -> None:
    alice = parley.register("alice")
    room = parley.group(alice)
    response = parley.call(alice, "POST", f"/rooms/{room['id']}/members", json={"username": "nobody"})
    assert_error(response, 404, "not_found")


def test_owner_removes_a_member_and_a_member_leaves(parley: Parley) -> None:
    alice, bob, carol = parley.register_many(3)
    room = parley.group(alice, bob, carol)
    assert parley.call(alice, "DELETE", f"/rooms/{room['id']}/members/{bob.username}").status_code == 204
    assert parley.call(carol, "DELETE", f"/rooms/{room['id']}/members/{carol.username}").status_code == 204
    assert room["id"] not in parley.rooms(bob) and room["id"] not in parley.rooms(carol)
    members = parley.call(alice, "GET", f"/rooms/{room['id']}").json()["members"]
    assert [m["id"] for m in members] == [alice.id]
    assert_error(parley.call(bob, "GET", f"/rooms/{room['id']}/messages"), 403, "forbidden")


def test_removing_someone_who_is_not_a_member_is_not_found(parley: Parley) -> None:
    alice, bob = parley.register_many(2)
    room = parley.group(alice)
    assert_error(parley.call(alice, "DELETE", f"/rooms/{room['id']}/members/{bob.username}"), 404, "not_found")


# Messages


def test_send_answers_201_and_the_stored_message(parley: Parley) -> None:
    alice = parley.register("alice")
    room = parley.group(alice)
    response = parley.post_message(alice, room["id"], "hello, world", client_msg_id="m-1")
    assert response.status_code == 201
    message = response.json()
    assert set(message) >= MESSAGE_KEYS
    assert (message["room_id"], message["seq"], message["sender"]) == (room["id"], 1, alice.id)
    assert (message["client_msg_id"], message["body"], message["deleted"], message["edited_at"]) == (
        "m-1",
        "hello, world",
        False,
        None,
    )
    assert is_utc_rfc3339(message["created_at"])


def test_send_again_with_the_same_client_msg_id_returns_the_stored_message(parley: Parley) -> None:
    alice, bob = parley.register_many(2)
    room = parley.group(alice, bob)
    first = parley.post_message(alice, room["id"], "first", client_msg_id="same")
    again = parley.post_message(alice, room["id"], "a retry with another body", client_msg_id="same")
    other_sender = parley.post_message(bob, room["id"], "bob's", client_msg_id="same")
    assert (first.status_code, again.status_code, other_sender.status_code) == (201, 200, 201)
    assert again.json() == first.json()
    assert parley.seqs(alice, room["id"]) == ([1, 2], False)
    assert parley.call(alice, "GET", f"/rooms/{room['id']}").json()["last_seq"] == 2


def test_seq_grows_by_one_per_message(parley: Parley) -> None:
    alice, bob = parley.register_many(2)
    room = parley.group(alice, bob)
    seqs = [parley.send(sender, room["id"])["seq"] for sender in (alice, bob, alice, bob, bob)]
    assert seqs == [1, 2, 3, 4, 5]


def test_body_limit_counts_bytes_not_characters(parley: Parley) -> None:
    alice = parley.register("alice")
    room = parley.group(alice)
    limit = parley.client.get(f"{API}/limits").json()["max_body_bytes"]
    euros = "€" * (limit // 3 + 1)  # fewer characters than the limit, more bytes
    assert len(euros) < limit < len(euros.encode())
    assert_error(parley.post_message(alice, room["id"], euros), 413, "payload_too_large")
    assert parley.post_message(alice, room["id"], "a" * limit).status_code == 201
    assert_error(parley.post_message(alice, room["id"], "a" * (limit + 1)), 413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"client_msg_id": "c1", "body": ""}, 400),
        ({"client_msg_id": "c1", "body": " \n\t"}, 400),
        ({"client_msg_id": "", "body": "hi"}, 400),
        ({"client_msg_id": "c" * 65, "body": "hi"}, 400),
        ({"client_msg_id": 1, "body": "hi"}, 422),
        ({"client_msg_id": "c1", "body": ["hi"]}, 422),
        ({"client_msg_id": "c1"}, 422),
    ],
)
def test_send_refuses_invalid_input(parley: Parley, body: dict[str, Any], status: int) -> None:
    alice = parley.register("alice")
    room = parley.group(alice)
    assert_error(parley.call(alice, "POST", f"/rooms/{room['id']}/messages", json=body), status, "invalid_request")
    assert parley.seqs(alice, room["id"]) == ([], False)


@pytest.fixture
def seven_messages(parley: Parley) -> tuple[Account, str]:
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    for n in range(1, 8):
        parley.send(alice, room_id, f"m{n}")
    return alice, room_id


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ([1, 2, 3, 4, 5, 6, 7], False)),
        ({"limit": 3}, ([5, 6, 7], True)),
        ({"before_seq": 5, "limit": 3}, ([2, 3, 4], True)),
        ({"before_seq": 3, "limit": 3}, ([1, 2], False)),
        ({"after_seq": 0, "limit": 3}, ([1, 2, 3], True)),
        ({"after_seq": 4, "limit": 3}, ([5, 6, 7], False)),
        ({"after_seq": 7}, ([], False)),
        ({"after_seq": 2, "limit": 200}, ([3, 4, 5, 6, 7], False)),
        ({"limit": 1}, ([7], True)),
    ],
)
def test_history_pages(
    parley: Parley, seven_messages: tuple[Account, str], params: dict[str, int], expected: tuple[list[int], bool]
) -> None:
    alice, room_id = seven_messages
    assert parley.seqs(alice, room_id, **params) == expected


def test_history_defaults_to_the_latest_fifty(parley: Parley) -> None:
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    for _ in range(52):
        parley.send(alice, room_id)
    assert parley.seqs(alice, room_id) == (list(range(3, 53)), True)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 422),
        ({"limit": 201}, 422),
        ({"limit": -1}, 422),
        ({"after_seq": -1}, 422),
        ({"before_seq": 0}, 422),
        ({"after_seq": 1, "before_seq": 5}, 400),
        ({"limit": "ten"}, 422),
        ({"after_seq": "1.5"}, 422),
    ],
)
def test_history_refuses_bad_queries(
    parley: Parley, seven_messages: tuple[Account, str], params: dict[str, Any], status: int
) -> None:
    alice, room_id = seven_messages
    response = parley.call(alice, "GET", f"/rooms/{room_id}/messages", params=params)
    assert_error(response, status, "invalid_request")


def test_sender_edits_a_message(parley: Parley) -> None:
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    sent = parley.send(alice, room_id, "tpyo")
    response = parley.call(alice, "PATCH", f"/rooms/{room_id}/messages/1", json={"body": "typo"})
    assert response.status_code == 200
    edited = response.json()
    assert (edited["id"], edited["seq"], edited["body"]) == (sent["id"], 1, "typo")
    assert edited["edited_at"] is not None and is_utc_rfc3339(edited["edited_at"])
    assert parley.history(alice, room_id)["messages"] == [edited]


@pytest.mark.parametrize(
    ("seq", "body", "status", "code"),
    [
        ("9", {"body": "x"}, 404, "not_found"),
        ("1", {"body": " "}, 400, "invalid_request"),
        ("1", {"body": 5}, 422, "invalid_request"),
        ("one", {"body": "x"}, 422, "invalid_request"),
    ],
)
def test_edit_refuses_bad_requests(parley: Parley, seq: str, body: dict[str, Any], status: int, code: str) -> None:
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    parley.send(alice, room_id, "original")
    assert_error(parley.call(alice, "PATCH", f"/rooms/{room_id}/messages/{seq}", json=body), status, code)
    assert parley.history(alice, room_id)["messages"][0]["body"] == "original"


def test_delete_leaves_a_tombstone_and_seq_gap_free(parley: Parley) -> None:
    alice, bob = parley.register_many(2)
    room_id = parley.group(alice, bob)["id"]
    for body in ("one", "two", "three"):
        parley.send(alice, room_id, body)
    assert parley.call(alice, "DELETE", f"/rooms/{room_id}/messages/2").status_code == 204
    assert parley.call(alice, "DELETE", f"/rooms/{room_id}/messages/2").status_code == 204
    assert parley.send(bob, room_id, "four")["seq"] == 4
    messages = parley.history(bob, room_id)["messages"]
    assert [(m["seq"], m["body"], m["deleted"]) for m in messages] == [
        (1, "one", False),
        (2, "", True),
        (3, "three", False),
        (4, "four", False),
    ]
    assert_error(
        parley.call(alice, "PATCH", f"/rooms/{room_id}/messages/2", json={"body": "back"}), 400, "invalid_request"
    )
    assert_error(parley.call(alice, "DELETE", f"/rooms/{room_id}/messages/9"), 404, "not_found")


# Read cursors


def read(parley: Parley, account: Account, room_id: str, seq: Any) -> Any:
    return parley.call(account, "POST", f"/rooms/{room_id}/read", json={"seq": seq})


def read_state(parley: Parley, account: Account, room_id: str) -> tuple[int, int]:
    view = parley.rooms(account)[room_id]
    return view["read_seq"], view["unread"]


def test_read_cursor_only_moves_forward_and_unread_follows(parley: Parley) -> None:
    alice, bob = parley.register_many(2)
    room_id = parley.group(alice, bob)["id"]
    for _ in range(3):
        parley.send(alice, room_id)
    assert read_state(parley, bob, room_id) == (0, 3)
    assert read_state(parley, alice, room_id) == (0, 0)  # one's own messages are never unread
    steps = [(2, (2, 1)), (1, (2, 1)), (0, (2, 1)), (99, (3, 0))]  # past the last message: clamped to it
    for seq, expected in steps:
        assert read(parley, bob, room_id, seq).status_code == 204
        assert read_state(parley, bob, room_id) == expected
    parley.send(alice, room_id)
    assert read_state(parley, bob, room_id) == (3, 1)


def test_unread_skips_deleted_messages(parley: Parley) -> None:
    alice, bob = parley.register_many(2)
    room_id = parley.group(alice, bob)["id"]
    for _ in range(3):
        parley.send(alice, room_id)
    parley.call(alice, "DELETE", f"/rooms/{room_id}/messages/2")
    assert read_state(parley, bob, room_id) == (0, 2)


@pytest.mark.parametrize(("seq", "status"), [(-1, 422), ("3", 422), (1.5, 422), (None, 422)])
def test_read_refuses_bad_seqs(parley: Parley, seq: Any, status: int) -> None:
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    assert_error(read(parley, alice, room_id, seq), status, "invalid_request")


# Operations and limits


def test_limits_report_the_settings(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=1234, max_frame_bytes=5678, messages_per_second=3.0, message_burst=7)
    response = client.get(f"{API}/limits")
    assert response.status_code == 200
    assert response.json() == {
        "max_body_bytes": 1234,
        "max_frame_bytes": 5678,
        "messages_per_second": 3.0,
        "message_burst": 7,
        "page_max": 200,
    }


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"store": "ok", "bus": "ok"}


@pytest.fixture
def unreachable_store_client(tmp_path: Path) -> Iterator[TestClient]:
    """An app whose SQLite database lies in a directory that does not exist, so every store call fails."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'parley.db'}"
    with TestClient(create_app(Settings(database_url=url)), raise_server_exceptions=False) as client:
        yield client


def test_readyz_names_the_failed_dependency(unreachable_store_client: TestClient) -> None:
    response = unreachable_store_client.get("/readyz")
    detail = assert_error(response, 503, "unavailable")
    assert "store" in detail
    checks = response.json()["checks"]
    assert checks["bus"] == "ok" and checks["store"] != "ok"
    assert unreachable_store_client.get("/healthz").status_code == 200


def test_an_unreachable_store_answers_unavailable(unreachable_store_client: TestClient) -> None:
    response = unreachable_store_client.post(f"{API}/auth/login", json={"username": "alice", "password": PASSWORD})
    assert_error(response, 503, "unavailable")


def metric(client: TestClient, line_start: str) -> float:
    text = client.get("/metrics").text
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start)]
    return values[0] if values else 0.0


def test_metrics_count_messages_and_errors(parley: Parley) -> None:
    response = parley.client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    alice, bob = parley.register_many(2)
    room_id = parley.group(alice)["id"]
    parley.send(alice, room_id)
    parley.send(alice, room_id)
    parley.call(bob, "GET", f"/rooms/{room_id}")
    assert metric(parley.client, "parley_messages_sent_total ") == 2
    assert metric(parley.client, 'parley_errors_total{code="forbidden"} ') == 1


def test_unknown_route_and_wrong_method_answer_the_error_shape(client: TestClient) -> None:
    assert_error(client.get(f"{API}/no-such-thing"), 404, "not_found")
    assert_error(client.get("/no-such-thing"), 404, "not_found")
    assert_error(client.put(f"{API}/auth/login"), 405, "invalid_request")


@pytest.mark.parametrize(
    "content",
    [b"{", b"not json", b'{"username": "alice", "password": }', b"[]", b'"alice"', b"null", b"\xff\xfe"],
)
def test_malformed_json_bodies_are_invalid_requests(client: TestClient, content: bytes) -> None:
    response = client.post(f"{API}/auth/login", content=content, headers={"Content-Type": "application/json"})
    assert_error(response, 422, "invalid_request")


def test_an_oversized_body_is_refused_with_413(parley: Parley) -> None:
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    padding = "x" * 100_000
    response = parley.call(
        alice, "POST", f"/rooms/{room_id}/messages", json={"client_msg_id": "big", "body": "hi", "padding": padding}
    )
    assert_error(response, 413, "payload_too_large")
    assert parley.seqs(alice, room_id) == ([], False)


def test_an_oversized_body_without_content_length_is_refused_with_413(parley: Parley) -> None:
    """A chunked upload announces no length; the limit must hold while the body streams in."""
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]

    def chunks() -> Iterator[bytes]:
        yield b'{"client_msg_id": "big", "body": "hi", "padding": "'
        for _ in range(20):
            yield b"x" * 10_000
        yield b'"}'

    response = parley.client.post(
        f"{API}/rooms/{room_id}/messages",
        content=chunks(),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "payload_too_large")


def test_messages_over_the_rate_are_refused_with_retry_after(make_client: Callable[..., TestClient]) -> None:
    parley = Parley(make_client(messages_per_second=0.2, message_burst=3))
    alice, bob = parley.register_many(2)
    room_id = parley.group(alice, bob)["id"]
    for _ in range(3):
        parley.send(alice, room_id)
    refused = parley.post_message(alice, room_id)
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert parley.send(bob, room_id)["seq"] == 4  # the limit is per user
    assert parley.seqs(alice, room_id) == ([1, 2, 3, 4], False)


# Input the JSON parser accepts but the store or the password hasher cannot take

# Valid JSON text that decodes to no UTF-8 string (Python's json module decodes it anyway); long enough to
# pass every length rule.
LONE_SURROGATE = '"long enough \\ud800 text"'


def with_lone_surrogate(body: dict[str, Any], field: str) -> bytes:
    text = json.dumps({**body, field: "SURROGATE"}).replace('"SURROGATE"', LONE_SURROGATE)
    return text.encode()


# (path, the rest of a valid body, the field given a lone surrogate)
SURROGATE_CASES = [
    ("/auth/register", {"username": "carol", "password": PASSWORD}, "password"),
    ("/auth/register", {"username": "carol", "password": PASSWORD}, "display_name"),
    ("/auth/register", {"username": "carol", "password": PASSWORD}, "username"),
    ("/auth/login", {"username": "alice", "password": PASSWORD}, "username"),
    ("/auth/login", {"username": "alice", "password": PASSWORD}, "password"),
    ("/rooms", {"kind": "group", "members": []}, "name"),
    ("/rooms/ROOM/members", {}, "username"),
    ("/rooms/ROOM/messages", {"client_msg_id": "c1"}, "body"),
    ("/rooms/ROOM/messages", {"body": "hi"}, "client_msg_id"),
]


@pytest.mark.parametrize(
    ("path", "body", "field"), SURROGATE_CASES, ids=[f"{path}:{field}" for path, _, field in SURROGATE_CASES]
)
def test_strings_with_lone_surrogates_are_invalid_requests(
    parley: Parley, path: str, body: dict[str, Any], field: str
) -> None:
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    response = parley.client.post(
        f"{API}{path.replace('ROOM', room_id)}",
        content=with_lone_surrogate(body, field),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    assert_error(response, response.status_code, "invalid_request")


def test_an_edit_with_a_lone_surrogate_is_an_invalid_request(parley: Parley) -> None:
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    parley.send(alice, room_id, "original")
    response = parley.client.patch(
        f"{API}/rooms/{room_id}/messages/1",
        content=with_lone_surrogate({}, "body"),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    assert parley.history(alice, room_id)["messages"][0]["body"] == "original"


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("POST", "/rooms/ROOM/read", None, {"seq": 2**63}),
        ("POST", "/rooms/ROOM/read", None, {"seq": 10**30}),
        ("GET", "/rooms/ROOM/messages", {"after_seq": 2**63}, None),
        ("GET", "/rooms/ROOM/messages", {"before_seq": 10**30}, None),
        ("PATCH", f"/rooms/ROOM/messages/{2**63}", None, {"body": "x"}),
        ("DELETE", f"/rooms/ROOM/messages/{10**30}", None, None),
    ],
    ids=["read-2^63", "read-10^30", "after_seq", "before_seq", "edit-seq", "delete-seq"],
)
def test_integers_beyond_64_bits_get_a_protocol_answer(
    parley: Parley, method: str, path: str, params: dict[str, int] | None, body: dict[str, Any] | None
) -> None:
    """JSON and query integers have no size limit; the store's do. Refusing or clamping are both fine;
    a 500 is not."""
    alice = parley.register("alice")
    room_id = parley.group(alice)["id"]
    parley.send(alice, room_id)
    response = parley.call(alice, method, path.replace("ROOM", room_id), json=body, params=params)
    assert response.status_code < 500, response.text
    assert_protocol_answer(response)
