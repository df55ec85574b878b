"""Property-based fuzzing (hypothesis) of every REST endpoint and of WebSocket frames.

Whatever a client sends, protocol.md promises: never a 500, never a dropped connection for a bad frame, and
every error carries one of the protocol's codes. Inputs mix arbitrary JSON, arbitrary text and bytes, and
values shaped like valid requests but with wrong types, integers past 64 bits, nested junk, unicode and
lone surrogates escaped in JSON."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import (
    PASSWORD,
    PROTOCOL_CODES,
    Account,
    Parley,
    Socket,
    assert_protocol_answer,
    start_client,
)

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BIG_INTS = st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30])
INTS = st.integers() | BIG_INTS
ODD_STRINGS = st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "\U0001f600" * 3, "é" * 3000, "x" * 70_000])
TEXT = st.text() | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3) | ODD_STRINGS
SCALARS = st.none() | st.booleans() | INTS | st.floats() | TEXT
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12
)
URL_TEXT = st.text(max_size=40)  # httpx encodes URLs as UTF-8, so no surrogates here


@dataclass(frozen=True)
class Target:
    """A live deployment to fuzz: accounts and rooms to aim at, kept for the whole module."""

    parley: Parley
    accounts: dict[str, Account]
    member_rooms: list[str]  # Alice's and Bob's
    foreign_room: str  # Carol's alone

    @property
    def rooms(self) -> list[str]:
        return [*self.member_rooms, self.foreign_room]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, migrated_database: Path) -> Iterator[Target]:
    database = tmp_path_factory.mktemp("fuzz") / "parley.db"
    shutil.copyfile(migrated_database, database)
    with ExitStack() as stack:
        parley = Parley(start_client(stack, database))
        accounts = {name: parley.register(name) for name in ("alice", "bob", "carol")}
        group = parley.group(accounts["alice"], accounts["bob"])["id"]
        direct = parley.direct(accounts["alice"], accounts["bob"]).json()["id"]
        foreign = parley.group(accounts["carol"], name="carol's")["id"]
        for room_id in (group, direct):
            parley.send(accounts["alice"], room_id)
        yield Target(parley=parley, accounts=accounts, member_rooms=[group, direct], foreign_room=foreign)


def field_values(target: Target) -> dict[str, st.SearchStrategy[Any]]:
    """For each request field, plausible values mixed with junk."""
    usernames = st.sampled_from([*target.accounts, "nobody", "ALICE"])
    return {
        "username": usernames | JSON,
        "password": st.just(PASSWORD) | JSON,
        "display_name": JSON,
        "kind": st.sampled_from(["group", "direct", "channel"]) | JSON,
        "name": JSON,
        "members": st.lists(usernames | TEXT, max_size=4) | JSON,
        "client_msg_id": TEXT | JSON,
        "body": TEXT | JSON,
        "seq": INTS | JSON,
    }


ENDPOINTS = [
    ("POST", "/api/v1/auth/register", ("username", "password", "display_name")),
    ("POST", "/api/v1/auth/login", ("username", "password")),
    ("GET", "/api/v1/me", ()),
    ("POST", "/api/v1/rooms", ("kind", "name", "members")),
    ("GET", "/api/v1/rooms", ()),
    ("GET", "/api/v1/rooms/{room}", ()),
    ("POST", "/api/v1/rooms/{room}/members", ("username",)),
    ("DELETE", "/api/v1/rooms/{room}/members/{username}", ()),
    ("POST", "/api/v1/rooms/{room}/messages", ("client_msg_id", "body")),
    ("GET", "/api/v1/rooms/{room}/messages", ()),
    ("PATCH", "/api/v1/rooms/{room}/messages/{seq}", ("body",)),
    ("DELETE", "/api/v1/rooms/{room}/messages/{seq}", ()),
    ("POST", "/api/v1/rooms/{room}/read", ("seq",)),
    ("GET", "/api/v1/limits", ()),
    ("GET", "/healthz", ()),
    ("GET", "/readyz", ()),
    ("GET", "/metrics", ()),
]


@st.composite
def requests(draw: st.DrawFn, target: Target) -> dict[str, Any]:
    """One HTTP request: an endpoint with fuzzed path parameters, query, credentials and body."""
    method, template, fields = draw(st.sampled_from(ENDPOINTS))
    path = template.format(
        room=quote(draw(st.sampled_from([*target.rooms, "no-such-room"]) | URL_TEXT), safe=""),
        username=quote(draw(st.sampled_from(["nobody", "carol", "bob"]) | URL_TEXT), safe=""),
        seq=quote(draw(INTS.map(str) | URL_TEXT), safe=""),
    )
    values = field_values(target)
    shaped = st.fixed_dictionaries({}, optional={field: values[field] for field in fields})
    body = draw(shaped.map(json.dumps).map(str.encode) | JSON.map(json.dumps).map(str.encode) | st.binary())
    query = draw(
        st.dictionaries(
            st.sampled_from(["after_seq", "before_seq", "limit"]) | URL_TEXT, INTS.map(str) | URL_TEXT, max_size=3
        )
    )
    who = draw(st.sampled_from(["alice", "carol", None, "garbage"]))
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form"]))}
    if who is not None:
        headers["Authorization"] = f"Bearer {target.accounts[who].token if who in target.accounts else who}"
    return {
        "method": method,
        "url": path,
        "params": query,
        "headers": headers,
        "content": body if method in ("POST", "PATCH") else None,
    }


@pytest.fixture(scope="module")
def request_strategy(target: Target) -> st.SearchStrategy[dict[str, Any]]:
    return requests(target)


@FUZZ
@given(data=st.data())
def test_no_rest_request_breaks_the_server(target: Target, request_strategy: Any, data: st.DataObject) -> None:
    request = data.draw(request_strategy)
    response = target.parley.client.request(**request)
    assert response.status_code != 500, response.text
    assert_protocol_answer(response)


# WebSocket frames

REQUEST_IDS = INTS | TEXT | JSON
FRAME_TYPES = ["send", "sync", "read", "typing", "ping"]


def valid_fields(own_rooms: list[str]) -> dict[str, dict[str, st.SearchStrategy[Any]]]:
    """Per frame type, the fields of a frame the server would accept (bar the integers' size)."""
    room = st.sampled_from(own_rooms)
    return {
        "send": {"room_id": room, "client_msg_id": st.text(min_size=1, max_size=64), "body": st.text(min_size=1)},
        "sync": {"rooms": st.dictionaries(room, INTS, min_size=1)},
        "read": {"room_id": room, "seq": INTS},
        "typing": {"room_id": room},
        "ping": {},
    }


@st.composite
def near_valid_frames(draw: st.DrawFn, own_rooms: list[str]) -> dict[str, Any]:
    """A valid frame of each type, then perhaps one field replaced by junk, dropped, or one added."""
    kind = draw(st.sampled_from(FRAME_TYPES))
    frame = {"type": kind, "id": draw(REQUEST_IDS), **draw(st.fixed_dictionaries(valid_fields(own_rooms)[kind]))}
    mutation = draw(st.sampled_from(["none", "none", "replace", "drop", "add"]))
    key = draw(st.sampled_from(sorted(frame)))
    if mutation == "replace":
        frame[key] = draw(JSON)
    elif mutation == "drop":
        del frame[key]
    elif mutation == "add":
        frame[draw(TEXT)] = draw(JSON)
    return frame


def as_text(frame: Any, ascii_only: bool) -> str:
    """The frame as JSON text; a client can only send text that UTF-8 encodes, so surrogates stay escaped."""
    text = json.dumps(frame, ensure_ascii=ascii_only)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(frame)
    return text


def encoded(frames: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return st.tuples(frames, st.booleans()).map(lambda pair: as_text(*pair))


JUNK_FRAMES = encoded(JSON) | st.text() | st.binary()
_barrier_ids = itertools.count()


def send_raw(socket: Socket, frame: str | bytes) -> None:
    if isinstance(frame, bytes):
        socket.session.send_bytes(frame)
    else:
        socket.session.send_text(frame)


def answers_until_pong(socket: Socket) -> list[dict[str, Any]]:
    """Ping with an id no fuzzed frame carries and return what came before the pong; raises if the server
    hung up."""
    barrier = f"barrier-{next(_barrier_ids)}"
    socket.send({"type": "ping", "id": barrier})
    pong, before = socket.receive_answer(barrier)
    assert pong == {"type": "pong", "id": barrier}
    return before


def assert_protocol_frames(frames: list[dict[str, Any]]) -> None:
    for frame in frames:
        assert isinstance(frame.get("type"), str), frame
        if frame["type"] == "error":
            assert frame["code"] in PROTOCOL_CODES, frame
            assert isinstance(frame["detail"], str), frame


@pytest.fixture(scope="module")
def near_valid(target: Target) -> st.SearchStrategy[str]:
    return encoded(near_valid_frames(target.member_rooms))


@FUZZ
@given(data=st.data())
def test_near_valid_frames_get_protocol_answers(target: Target, near_valid: Any, data: st.DataObject) -> None:
    frame = data.draw(near_valid)
    with target.parley.connect(target.accounts["alice"]) as socket:
        send_raw(socket, frame)
        assert_protocol_frames(answers_until_pong(socket))


@FUZZ
@given(frame=JUNK_FRAMES)
def test_junk_frames_get_protocol_errors(target: Target, frame: str | bytes) -> None:
    with target.parley.connect(target.accounts["alice"]) as socket:
        send_raw(socket, frame)
        assert_protocol_frames(answers_until_pong(socket))


@FUZZ
@given(data=st.data())
def test_a_stream_of_bad_frames_keeps_one_connection_open(target: Target, near_valid: Any, data: st.DataObject) -> None:
    burst = data.draw(st.lists(near_valid | JUNK_FRAMES, min_size=2, max_size=8))
    with target.parley.connect(target.accounts["bob"]) as socket:
        for frame in burst:
            send_raw(socket, frame)
            assert_protocol_frames(answers_until_pong(socket))
