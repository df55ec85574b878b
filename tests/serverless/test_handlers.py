"""The Lambda handlers against moto's DynamoDB and API Gateway management API: connect, frames, fan-out,
gone connections, disconnect, and the REST API through Mangum."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import unquote

import jwt
import pytest

from app.accounts import ALGORITHM
from app.bus.apigateway import ApiGatewayBus
from app.domain import Room, RoomKind, User
from app.serverless import handlers
from app.serverless.runtime import Runtime
from app.serverless.websocket import gateway_bus
from tests.serverless.conftest import (
    SECRET,
    Deployment,
    answer_gone,
    close,
    connect_event,
    disconnect_event,
    frame_event,
    http_event,
    new_connection_id,
)
from tests.support.moto import REGION


def register(runtime: Runtime, username: str) -> tuple[User, str]:
    accounts = runtime.services().accounts
    return runtime.run(accounts.register(username=username, password="correct-horse", display_name=None))


def group(runtime: Runtime, owner: User, *members: str) -> Room:
    chat = runtime.services().chat
    room, _ = runtime.run(chat.create_room(owner, kind=RoomKind.GROUP, name="team", members=list(members)))
    return room


def connect(runtime: Runtime, token: str) -> str:
    connection_id = new_connection_id()
    assert runtime.websocket(connect_event(connection_id, token)) == {"statusCode": 200}
    return connection_id


def bus(runtime: Runtime) -> ApiGatewayBus:
    return gateway_bus(runtime.services())


def make_gone(runtime: Runtime, connection_id: str) -> None:
    answer_gone(bus(runtime), connection_id)


def test_connect_with_a_bad_token_is_refused(runtime: Runtime) -> None:
    alice, _ = register(runtime, "alice")
    forged = jwt.encode({"sub": alice.id, "exp": int(time.time()) + 60}, "another-secret-" * 3, algorithm=ALGORITHM)
    expired = jwt.encode({"sub": alice.id, "exp": int(time.time()) - 60}, SECRET, algorithm=ALGORITHM)
    for token in (None, "", "not-a-jwt", forged, expired):
        connection_id = new_connection_id()
        response = runtime.websocket(connect_event(connection_id, token))
        assert response["statusCode"] == 401, token
        assert runtime.run(bus(runtime).connection(connection_id)) is None


def test_send_reaches_every_member_connection_and_the_sender_gets_ack_first(
    runtime: Runtime, deployment: Deployment
) -> None:
    alice, alice_token = register(runtime, "alice")
    bob, bob_token = register(runtime, "bob")
    room = group(runtime, alice, "bob")
    laptop, phone, bobs = connect(runtime, alice_token), connect(runtime, alice_token), connect(runtime, bob_token)
    assert runtime.run(bus(runtime).online([alice.id, bob.id])) == {alice.id, bob.id}

    send = {"type": "send", "id": 7, "room_id": room.id, "client_msg_id": "c1", "body": "hello"}
    assert runtime.websocket(frame_event(laptop, send)) == {"statusCode": 200}

    sent = deployment.posted(laptop)
    # Bob came online after alice: she was told, and her first frame brought the presence of her contacts.
    assert [f["type"] for f in sent] == ["presence", "presence", "ack", "message"]
    ack, message = sent[2], sent[3]
    assert ack["id"] == 7 and ack["message"]["seq"] == 1 and ack["message"]["body"] == "hello"
    assert message["message"] == ack["message"]
    for other in (phone, bobs):
        assert [f for f in deployment.posted(other) if f["type"] == "message"] == [message]
    assert deployment.types(bobs) == ["message"]

    again = runtime.websocket(frame_event(laptop, {**send, "id": 8}))
    assert again == {"statusCode": 200}
    assert deployment.types(laptop)[4:] == ["ack"]  # a repeated client_msg_id: the stored copy, no new message
    assert deployment.posted(laptop)[4]["message"] == ack["message"]


def test_a_gone_connection_is_forgotten_and_the_others_stay(runtime: Runtime, deployment: Deployment) -> None:
    alice, alice_token = register(runtime, "alice")
    _, bob_token = register(runtime, "bob")
    room = group(runtime, alice, "bob")
    laptop, phone, bobs = connect(runtime, alice_token), connect(runtime, alice_token), connect(runtime, bob_token)
    make_gone(runtime, phone)

    send = {"type": "send", "id": 1, "room_id": room.id, "client_msg_id": "c1", "body": "still there?"}
    runtime.websocket(frame_event(bobs, send))

    assert runtime.run(bus(runtime).connection(phone)) is None
    assert runtime.run(bus(runtime).connection(laptop)) is not None
    assert runtime.run(bus(runtime).connections_of([alice.id])) == [laptop]
    assert "message" in deployment.types(laptop)

    make_gone(runtime, laptop)  # her last connection: she is offline, and bob is told so
    runtime.websocket(frame_event(bobs, {**send, "client_msg_id": "c2"}))
    assert runtime.run(bus(runtime).online([alice.id])) == set()
    assert deployment.posted(bobs)[-1] == {"type": "presence", "user": alice.id, "online": False}


def test_bad_frames_get_error_frames_and_the_connection_stays(runtime: Runtime, deployment: Deployment) -> None:
    _, alice_token = register(runtime, "alice")
    carol, _ = register(runtime, "carol")
    foreign = group(runtime, carol)
    connection = connect(runtime, alice_token)
    bad: list[str | dict[str, Any]] = [
        "not json",
        {"type": "shout", "id": "a"},
        {"type": "send", "id": "b", "room_id": foreign.id, "client_msg_id": "x"},
        {"type": "send", "id": "c", "room_id": foreign.id, "client_msg_id": "x", "body": "hi"},
        {"type": "send", "id": "d", "room_id": foreign.id, "client_msg_id": "x", "body": "x" * 5000},
        "x" * 20000,
        {"type": "sync", "id": "e", "rooms": {foreign.id: 0}},
    ]
    for frame in bad:
        assert runtime.websocket(frame_event(connection, frame)) == {"statusCode": 200}
    binary = {**frame_event(connection, ""), "body": "//79", "isBase64Encoded": True}  # not UTF-8
    runtime.websocket(binary)

    errors = [f for f in deployment.posted(connection) if f["type"] == "error"]
    assert [(f.get("id"), f["code"]) for f in errors] == [
        (None, "invalid_request"),
        ("a", "invalid_request"),
        ("b", "invalid_request"),
        ("c", "forbidden"),
        ("d", "payload_too_large"),
        (None, "payload_too_large"),
        ("e", "forbidden"),
        (None, "invalid_request"),
    ]
    assert runtime.run(bus(runtime).connection(connection)) is not None
    runtime.websocket(frame_event(connection, {"type": "ping", "id": 9}))
    assert deployment.posted(connection)[-1] == {"type": "pong", "id": 9}


def test_sync_returns_what_a_client_missed(runtime: Runtime, deployment: Deployment) -> None:
    alice, alice_token = register(runtime, "alice")
    bob, _ = register(runtime, "bob")
    room = group(runtime, alice, "bob")
    chat = runtime.services().chat
    for n in range(1, 6):
        runtime.run(chat.send(bob, room_id=room.id, client_msg_id=str(n), body=f"m{n}"))
    connection = connect(runtime, alice_token)

    runtime.websocket(frame_event(connection, {"type": "sync", "id": "s", "rooms": {room.id: 2}}, route="sync"))
    (answer,) = [f for f in deployment.posted(connection) if f["type"] == "sync"]
    assert answer["id"] == "s" and answer["has_more"] is False
    assert [(m["seq"], m["body"]) for m in answer["messages"]] == [(3, "m3"), (4, "m4"), (5, "m5")]


def test_disconnect_forgets_the_connection_and_reports_presence(runtime: Runtime, deployment: Deployment) -> None:
    alice, alice_token = register(runtime, "alice")
    _, bob_token = register(runtime, "bob")
    group(runtime, alice, "bob")
    first, second, bobs = connect(runtime, alice_token), connect(runtime, alice_token), connect(runtime, bob_token)

    assert runtime.websocket(disconnect_event(first)) == {"statusCode": 200}
    assert runtime.run(bus(runtime).online([alice.id])) == {alice.id}
    assert {"type": "presence", "user": alice.id, "online": False} not in deployment.posted(bobs)
    runtime.websocket(disconnect_event(second))
    runtime.websocket(disconnect_event(second))  # API Gateway may deliver an event twice
    assert runtime.run(bus(runtime).online([alice.id])) == set()
    assert deployment.posted(bobs).count({"type": "presence", "user": alice.id, "online": False}) == 1
    assert runtime.run(bus(runtime).connection(first)) is None


def test_a_connection_whose_token_expired_is_told_and_ended(runtime: Runtime, deployment: Deployment) -> None:
    alice, _ = register(runtime, "alice")
    connection = new_connection_id()
    runtime.run(bus(runtime).add_connection(connection, alice, expires_at=time.time() - 1))
    told_before_the_end: list[list[dict[str, Any]]] = []

    def ending(params: dict[str, Any], **_: Any) -> None:
        if unquote(params["url_path"]).endswith(f"/@connections/{connection}"):
            told_before_the_end.append(deployment.posted(connection))  # moto drops the data with the connection

    client = bus(runtime)._management
    client.meta.events.register("before-call.apigatewaymanagementapi.DeleteConnection", ending)
    runtime.websocket(frame_event(connection, {"type": "ping"}))
    assert told_before_the_end == [[{"type": "error", "code": "unauthorized", "detail": "token expired"}]]
    assert runtime.run(bus(runtime).connection(connection)) is None


def test_rest_through_mangum_registers_creates_and_lists_rooms(runtime: Runtime, deployment: Deployment) -> None:
    def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        response = runtime.http(http_event(method, path, body, token), None)
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None

    status, alice = call("POST", "/api/v1/auth/register", {"username": "alice", "password": "correct-horse"})
    assert status == 201
    status, bob = call("POST", "/api/v1/auth/register", {"username": "bob", "password": "correct-horse"})
    assert status == 201
    assert call("POST", "/api/v1/auth/register", {"username": "bob", "password": "correct-horse"})[0] == 409
    assert call("GET", "/api/v1/rooms")[0] == 401

    bobs = connect(runtime, bob["token"])  # REST writes reach WebSocket connections through the same bus
    status, room = call("POST", "/api/v1/rooms", {"kind": "group", "name": "team", "members": ["bob"]}, alice["token"])
    assert status == 201
    message = {"client_msg_id": "m1", "body": "over REST"}
    assert call("POST", f"/api/v1/rooms/{room['id']}/messages", message, alice["token"])[0] == 201

    status, rooms = call("GET", "/api/v1/rooms", token=bob["token"])
    assert status == 200
    assert [(r["id"], r["name"], r["last_seq"], r["unread"]) for r in rooms] == [(room["id"], "team", 1, 1)]
    assert deployment.types(bobs) == ["room.updated", "message"]
    assert call("GET", "/readyz")[0] == 200


def test_entry_points_build_one_runtime_from_the_environment_and_the_secret(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cold start as in Lambda: settings from PARLEY_*, the JWT secret from Secrets Manager by ARN."""
    from app.aws import make_client

    secrets = make_client("secretsmanager", region=REGION, endpoint=deployment.moto.endpoint)
    stored = "a-secret-from-secrets-manager-of-48-characters-0123"
    arn = secrets.create_secret(Name=f"parley-{new_connection_id()}", SecretString=stored)["ARN"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", deployment.moto.endpoint)
    monkeypatch.setenv("PARLEY_SECRET_KEY_ARN", arn)
    monkeypatch.setenv("PARLEY_DATABASE_URL", deployment.store_url)
    monkeypatch.setenv("PARLEY_BUS_URL", deployment.bus_url)
    monkeypatch.setenv("PARLEY_LOG_LEVEL", "WARNING")
    monkeypatch.setattr(handlers, "_runtime", None)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # the cold start configures logging for Lambda
    monkeypatch.setattr(root, "level", root.level)
    register = http_event("POST", "/api/v1/auth/register", {"username": "dora", "password": "pw-pw-pw-pw"})
    try:
        response = handlers.http(register, None)
        assert response["statusCode"] == 201
        token = json.loads(response["body"])["token"]
        assert jwt.decode(token, stored, algorithms=[ALGORITHM])["usr"] == "dora"
        runtime = handlers._runtime
        assert handlers.websocket(connect_event(new_connection_id(), token), None) == {"statusCode": 200}
        assert handlers._runtime is runtime  # one runtime per container, kept across invocations
        assert runtime is not None and runtime.settings.secret_key == stored
    finally:
        if handlers._runtime is not None:
            close(handlers._runtime)


def test_an_unreachable_connections_table_is_answered_not_raised(deployment: Deployment) -> None:
    broken = deployment.bus_url.replace(
        f"dynamodb_endpoint={deployment.moto.endpoint}", "dynamodb_endpoint=http://127.0.0.1:1"
    )
    runtime = Runtime(deployment.settings(bus_url=broken))
    try:
        connection = new_connection_id()
        assert runtime.websocket(frame_event(connection, {"type": "ping", "id": "p"})) == {"statusCode": 200}
        (error,) = deployment.posted(connection)
        assert (error["type"], error["code"], error["id"]) == ("error", "unavailable", "p")
        _, token = register(runtime, "alice")
        assert runtime.websocket(connect_event(new_connection_id(), token))["statusCode"] == 503
    finally:
        close(runtime)
