"""A bad frame gets an `error` frame with a protocol code, and the connection stays open: a `ping` after
it still gets its `pong`. One node with small limits serves the whole module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Connector, Nodes, create_group, register, sqlite_copy
from tests.support.servers import ServerProcess
from tests.support.wsclient import Frame, send_frame

pytestmark = pytest.mark.e2e

MAX_BODY = 1000
MAX_FRAME = 4096
BURST = 5
BEYOND_INT64 = 2**63
STRICT_ENV = {
    "PARLEY_BUS_URL": "memory://",
    "PARLEY_MAX_BODY_BYTES": str(MAX_BODY),
    "PARLEY_MAX_FRAME_BYTES": str(MAX_FRAME),
    "PARLEY_MESSAGES_PER_SECOND": "0.2",  # one token every 5 s: none comes back during a test
    "PARLEY_MESSAGE_BURST": str(BURST),
}


@dataclass(frozen=True)
class Rooms:
    mine: str
    foreign: str


@dataclass(frozen=True)
class BadFrame:
    """`make` builds what to send from the rooms; `answer_id` is the id the `error` must carry, if any."""

    make: Callable[[Rooms], Frame | str | bytes]
    code: str
    answer_id: str | None = "bad"


BAD_FRAMES = {
    "not JSON": BadFrame(lambda rooms: "{this is not json", "invalid_request", None),
    "JSON but not an object": BadFrame(lambda rooms: "[1, 2, 3]", "invalid_request", None),
    "binary, not UTF-8": BadFrame(lambda rooms: b"\xff\xfe", "invalid_request", None),
    "no type": BadFrame(lambda rooms: {"id": "bad", "room_id": rooms.mine}, "invalid_request"),
    "unknown type": BadFrame(lambda rooms: {"id": "bad", "type": "shout"}, "invalid_request"),
    "missing field": BadFrame(
        lambda rooms: {"id": "bad", "type": "send", "room_id": rooms.mine, "body": "no client_msg_id"},
        "invalid_request",
    ),
    "wrong field type": BadFrame(
        lambda rooms: {"id": "bad", "type": "sync", "rooms": {rooms.mine: "1"}}, "invalid_request"
    ),
    "empty body": BadFrame(lambda rooms: {"id": "bad", **send_frame(rooms.mine, "  ")}, "invalid_request"),
    "body over the limit": BadFrame(
        lambda rooms: {"id": "bad", **send_frame(rooms.mine, "b" * (MAX_BODY + 1))}, "payload_too_large"
    ),
    "frame over the limit": BadFrame(
        lambda rooms: {"id": "bad", "type": "ping", "padding": "p" * MAX_FRAME}, "payload_too_large", None
    ),
    "send to a room the user is not in": BadFrame(
        lambda rooms: {"id": "bad", **send_frame(rooms.foreign, "let me in")}, "forbidden"
    ),
    "sync a room the user is not in": BadFrame(
        lambda rooms: {"id": "bad", "type": "sync", "rooms": {rooms.foreign: 0}}, "forbidden"
    ),
    "read a room the user is not in": BadFrame(
        lambda rooms: {"id": "bad", "type": "read", "room_id": rooms.foreign, "seq": 1}, "forbidden"
    ),
    "typing in an unknown room": BadFrame(
        lambda rooms: {"id": "bad", "type": "typing", "room_id": "nope"}, "not_found"
    ),
    "read seq beyond 64 bits": BadFrame(
        lambda rooms: {"id": "bad", "type": "read", "room_id": rooms.mine, "seq": BEYOND_INT64}, "invalid_request"
    ),
    "sync cursor beyond 64 bits": BadFrame(
        lambda rooms: {"id": "bad", "type": "sync", "rooms": {rooms.mine: BEYOND_INT64}}, "invalid_request"
    ),
}
# Text PostgreSQL cannot store: the answer must be an ack or a protocol error, never `internal_error`.
NUL_FRAMES: dict[str, tuple[Callable[[str], Frame], set[str]]] = {
    "body": (lambda room_id: send_frame(room_id, "nul \x00 inside"), {"ack", "invalid_request"}),
    "client_msg_id": (
        lambda room_id: send_frame(room_id, "hello", client_msg_id="nul\x00"),
        {"ack", "invalid_request"},
    ),
    "room_id": (lambda room_id: {"type": "typing", "room_id": "\x00"}, {"not_found", "invalid_request"}),
}


@pytest.fixture(scope="module")
def strict_node(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("strict-node")
    nodes = Nodes(folder)
    (node,) = nodes.start({**STRICT_ENV, "PARLEY_DATABASE_URL": sqlite_copy(sqlite_template, folder)})
    yield node
    nodes.stop_all()


@pytest.mark.parametrize("case", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_a_bad_frame_gets_an_error_and_the_connection_stays_open(
    case: BadFrame, strict_node: ServerProcess, http: httpx.AsyncClient, connect: Connector
) -> None:
    alice, bob = await register(http, [strict_node], 2)
    rooms = Rooms(
        mine=await create_group(http, strict_node, alice, [bob]),
        foreign=await create_group(http, strict_node, bob, []),
    )
    client = await connect(strict_node, alice)

    await client.send(case.make(rooms))
    error = await client.wait_for_type("error")

    assert error["code"] == case.code and error["detail"]
    assert error.get("id") == case.answer_id
    assert (await client.ping())["type"] == "pong"
    assert client.of_type("error") == [error] and not client.is_closed


async def test_sending_faster_than_the_limit_is_answered_rate_limited(
    strict_node: ServerProcess, http: httpx.AsyncClient, connect: Connector
) -> None:
    alice, bob = await register(http, [strict_node], 2)
    room_id = await create_group(http, strict_node, alice, [bob])
    client = await connect(strict_node, alice)

    ids = [f"s{i}" for i in range(BURST + 2)]
    for request_id in ids:
        await client.send({"id": request_id, **send_frame(room_id, request_id)})
    answers = [await client.answer(request_id) for request_id in ids]

    assert [a["type"] for a in answers] == ["ack"] * BURST + ["error"] * 2
    assert [a["code"] for a in answers[BURST:]] == ["rate_limited"] * 2
    assert (await client.ping())["type"] == "pong"


async def test_a_nul_character_is_not_a_server_error_on_postgresql(
    database_url: str, nodes: Nodes, http: httpx.AsyncClient, connect: Connector
) -> None:
    (node,) = nodes.start({"PARLEY_DATABASE_URL": database_url, "PARLEY_BUS_URL": "memory://"})
    alice, bob = await register(http, [node], 2)
    room_id = await create_group(http, node, alice, [bob])
    client = await connect(node, alice)

    unexpected = {}
    for name, (make, allowed) in NUL_FRAMES.items():
        answer = await client.request(make(room_id))
        if answer["type"] not in allowed and answer.get("code") not in allowed:
            unexpected[name] = answer

    assert unexpected == {}
    assert (await client.ping())["type"] == "pong"
