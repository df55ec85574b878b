"""Fixtures for the in-process API tests: the app on its own migrated SQLite database, its lifespan run by
TestClient, and `Parley`, the one place these tests register users, create rooms and open sockets."""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import argon2
import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.types import ASGIApp, Receive, Scope, Send

from app import accounts
from app.domain import Role
from app.main import create_app
from app.services import Services
from app.settings import DEV_SECRET_KEY, Settings
from app.store.migrate import upgrade

API = "/api/v1"
PASSWORD = "correct horse battery"
# Error codes protocol.md allows, with the HTTP statuses each may carry (a wrong method's 405 is reported as
# an invalid request).
PROTOCOL_STATUSES = {
    "invalid_request": {400, 405, 422},
    "unauthorized": {401},
    "forbidden": {403},
    "not_found": {404},
    "conflict": {409},
    "payload_too_large": {413},
    "rate_limited": {429},
    "unavailable": {503},
}
PROTOCOL_CODES = frozenset(PROTOCOL_STATUSES)
# Tests other than the rate-limit ones should never be throttled.
UNTHROTTLED = {"messages_per_second": 10_000.0, "message_burst": 10_000}
HANDLER_DONE = "parley.tests.handler_done"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="package", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2's production cost is a third of a second per hash; these tests need its behaviour, not its cost."""
    cheap = partial(argon2.PasswordHasher, time_cost=1, memory_cost=64, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "PasswordHasher", cheap)
        yield


@pytest.fixture(scope="package")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at the latest schema, migrated once and copied for each app."""
    path = tmp_path_factory.mktemp("template") / "parley.db"
    upgrade(sqlite_url(path))
    return path


class SignalHandlerEnd:
    """ASGI wrapper setting an event in each WebSocket's scope when its handler returns.

    TestClient cancels a handler the moment the client side closes, cutting short the cleanup (presence, a
    store read) that a real server lets finish; `Socket.close` waits for this event instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        scope[HANDLER_DONE] = done = anyio.Event()
        try:
            await self.app(scope, receive, send)
        finally:
            done.set()


def start_client(stack: ExitStack, database: Path, **overrides: Any) -> TestClient:
    """The app on `database`, lifespan started; it stops when `stack` closes. 500s come back as responses so
    tests see what a client would."""
    settings = Settings(database_url=sqlite_url(database), bus_url="memory://", **{**UNTHROTTLED, **overrides})
    client = TestClient(SignalHandlerEnd(create_app(settings)), raise_server_exceptions=False)
    return stack.enter_context(client)


@pytest.fixture
def make_client(tmp_path: Path, migrated_database: Path) -> Iterator[Callable[..., TestClient]]:
    """Builds an app with `Settings` overrides on a fresh copy of the migrated database."""
    counter = itertools.count()
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            database = tmp_path / f"parley-{next(counter)}.db"
            shutil.copyfile(migrated_database, database)
            return start_client(stack, database, **overrides)

        yield make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def parley(client: TestClient) -> Parley:
    return Parley(client)


@dataclass(frozen=True)
class Account:
    user: dict[str, Any]
    token: str

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def username(self) -> str:
        return str(self.user["username"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Socket:
    """One client WebSocket.

    `drain` is the barrier tests use instead of sleeping: the server handles a connection's frames in order,
    and an action's fan-out is queued before the action is answered, so once this socket's pong arrives every
    frame caused by an action already answered (to anyone) has arrived before it."""

    def __init__(self, session: WebSocketTestSession) -> None:
        self.session = session
        self._ids = itertools.count(1)
        self.greeting = self.drain()

    def send(self, frame: dict[str, Any]) -> None:
        self.session.send_json(frame)

    def receive(self) -> dict[str, Any]:
        frame: dict[str, Any] = self.session.receive_json()
        return frame

    def request(self, frame: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send `frame` with a fresh id; return the answer carrying that id and the frames that came first."""
        request_id = f"r{next(self._ids)}"
        self.send({**frame, "id": request_id})
        return self.receive_answer(request_id)

    def receive_answer(self, request_id: str | int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        before = []
        while (frame := self.receive()).get("id") != request_id:
            before.append(frame)
        return frame, before

    def drain(self) -> list[dict[str, Any]]:
        """Every frame that arrives before the answer to a fresh ping."""
        pong, before = self.request({"type": "ping"})
        assert pong["type"] == "pong", pong
        return before

    def close(self) -> None:
        """Close from the client side and let the server finish with the connection, as a real one would."""
        self.session.close(1000)
        done: anyio.Event = self.session.scope[HANDLER_DONE]

        async def handler_end() -> None:
            with anyio.fail_after(10):
                await done.wait()

        self.session.portal.call(handler_end)


class Parley:
    """The REST and WebSocket API as the tests call it."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._names = itertools.count(1)
        self._client_msg_ids = itertools.count(1)

    def call(
        self, account: Account | None, method: str, path: str, *, json: Any = None, params: Any = None
    ) -> httpx.Response:
        headers = account.headers if account else {}
        response: httpx.Response = self.client.request(
            method, f"{API}{path}", headers=headers, json=json, params=params
        )
        return response

    def add_member(self, room_id: str, account: Account, role: Role) -> None:
        """Straight into the store: the API has no way to make an admin."""
        app = self.client.app
        assert isinstance(app, SignalHandlerEnd) and self.client.portal is not None
        services: Services = app.app.state.services  # type: ignore[attr-defined]
        self.client.portal.call(partial(services.store.add_member, room_id=room_id, user_id=account.id, role=role))

    def register(self, username: str | None = None) -> Account:
        name = username or f"user{next(self._names)}"
        response = self.client.post(f"{API}/auth/register", json={"username": name, "password": PASSWORD})
        assert response.status_code == 201, response.text
        body = response.json()
        return Account(user=body["user"], token=body["token"])

    def register_many(self, count: int) -> list[Account]:
        return [self.register() for _ in range(count)]

    def group(self, owner: Account, *members: Account, name: str = "team") -> dict[str, Any]:
        body = {"kind": "group", "name": name, "members": [m.username for m in members]}
        response = self.call(owner, "POST", "/rooms", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def direct(self, account: Account, other: Account) -> httpx.Response:
        return self.call(account, "POST", "/rooms", json={"kind": "direct", "members": [other.username]})

    def send(
        self, account: Account, room_id: str, body: str = "hello", *, client_msg_id: str | None = None
    ) -> dict[str, Any]:
        response = self.post_message(account, room_id, body, client_msg_id=client_msg_id)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def post_message(
        self, account: Account, room_id: str, body: str = "hello", *, client_msg_id: str | None = None
    ) -> httpx.Response:
        client_msg_id = client_msg_id or f"c{next(self._client_msg_ids)}"
        return self.call(
            account, "POST", f"/rooms/{room_id}/messages", json={"client_msg_id": client_msg_id, "body": body}
        )

    def history(self, account: Account, room_id: str, **params: Any) -> dict[str, Any]:
        response = self.call(account, "GET", f"/rooms/{room_id}/messages", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def seqs(self, account: Account, room_id: str, **params: Any) -> tuple[list[int], bool]:
        page = self.history(account, room_id, **params)
        return [m["seq"] for m in page["messages"]], page["has_more"]

    def rooms(self, account: Account) -> dict[str, dict[str, Any]]:
        response = self.call(account, "GET", "/rooms")
        assert response.status_code == 200, response.text
        return {room["id"]: room for room in response.json()}

    @contextmanager
    def connect(self, account: Account) -> Iterator[Socket]:
        """An open, registered socket for `account` (its first frames are in `greeting`)."""
        with self.client.websocket_connect(f"/ws?token={account.token}") as session:
            socket = Socket(session)
            try:
                yield socket
            finally:
                socket.close()


def signed_token(user_id: str, *, expires_in: int, key: str = DEV_SECRET_KEY) -> str:
    """A token as the server would issue it (with the test apps' key unless `key` says otherwise)."""
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + expires_in}, key, algorithm="HS256")


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """The response is the protocol's error with `status` and `code`; return its detail."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "detail"}, body
    assert body["error"]["code"] == code, body
    detail = body["error"]["detail"]
    assert isinstance(detail, str) and detail
    return detail


def assert_protocol_answer(response: httpx.Response) -> None:
    """Success, or an error body whose code protocol.md lists for that status; never a 5xx but 503."""
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), response.text
    code = body["error"].get("code")
    assert code in PROTOCOL_CODES, response.text
    assert response.status_code in PROTOCOL_STATUSES[code], response.text
    assert isinstance(body["error"].get("detail"), str), response.text
