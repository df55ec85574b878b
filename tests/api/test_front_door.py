"""Front Door only (app/front_door.py, `PARLEY_FRONT_DOOR_IDS`): with the setting, every request and WebSocket
handshake but the probes needs the profile's id in `X-Azure-FDID`; without it nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.testclient import WebSocketDenialResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.front_door import FrontDoorOnly
from app.settings import Settings
from tests.api.conftest import API, PASSWORD, Parley, assert_error

FRONT_DOOR = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
NEXT_FRONT_DOOR = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
SOMEONE_ELSES = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


@pytest.fixture
def guarded(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(front_door_ids=FRONT_DOOR)


def through(front_door_id: str) -> dict[str, str]:
    return {"X-Azure-FDID": front_door_id}


def test_without_the_setting_nothing_is_checked(client: TestClient) -> None:
    parley = Parley(client)
    account = parley.register()
    assert client.get(f"{API}/limits").status_code == 200
    with parley.connect(account) as socket:
        assert socket.request({"type": "ping"})[0]["type"] == "pong"


@pytest.mark.parametrize(
    "headers",
    [{}, through(SOMEONE_ELSES), through(""), through(FRONT_DOOR + "0")],
    ids=["missing", "another profile", "empty", "longer"],
)
def test_requests_without_the_profile_id_are_forbidden(guarded: TestClient, headers: dict[str, str]) -> None:
    for method, path in [("GET", f"{API}/limits"), ("GET", "/metrics"), ("GET", "/"), ("GET", f"{API}/me")]:
        detail = assert_error(guarded.request(method, path, headers=headers), 403, "forbidden")
        assert "Front Door" in detail and FRONT_DOOR not in detail


def test_a_refused_request_never_reaches_the_service(guarded: TestClient) -> None:
    body = {"username": "mallory", "password": PASSWORD}
    assert_error(guarded.post(f"{API}/auth/register", json=body), 403, "forbidden")
    # The name is still free: the refused request created nothing.
    assert guarded.post(f"{API}/auth/register", json=body, headers=through(FRONT_DOOR)).status_code == 201


def test_the_profile_id_lets_requests_through_in_any_case(guarded: TestClient) -> None:
    assert guarded.get(f"{API}/limits", headers=through(FRONT_DOOR)).status_code == 200
    assert guarded.get(f"{API}/limits", headers=through(FRONT_DOOR.upper())).status_code == 200


def test_a_forged_id_beside_the_real_one_is_refused(guarded: TestClient) -> None:
    headers = [("X-Azure-FDID", SOMEONE_ELSES), ("X-Azure-FDID", FRONT_DOOR)]
    assert_error(guarded.get(f"{API}/limits", headers=headers), 403, "forbidden")


def test_the_probes_stay_open(guarded: TestClient) -> None:
    assert guarded.get("/healthz").json() == {"status": "ok"}
    assert guarded.get("/readyz").json()["status"] == "ready"


def test_several_profiles_may_be_allowed_while_moving(make_client: Callable[..., TestClient]) -> None:
    client = make_client(front_door_ids=f"{FRONT_DOOR}, {NEXT_FRONT_DOOR}")
    for allowed in (FRONT_DOOR, NEXT_FRONT_DOOR):
        assert client.get(f"{API}/limits", headers=through(allowed)).status_code == 200
    assert_error(client.get(f"{API}/limits", headers=through(SOMEONE_ELSES)), 403, "forbidden")


def test_a_websocket_handshake_without_the_id_is_refused_before_accept(guarded: TestClient) -> None:
    guarded.headers["X-Azure-FDID"] = FRONT_DOOR
    account = Parley(guarded).register()
    del guarded.headers["X-Azure-FDID"]
    for headers in ({}, through(SOMEONE_ELSES)):
        with pytest.raises(WebSocketDenialResponse) as refused:
            with guarded.websocket_connect(f"/ws?token={account.token}", headers=headers):
                pass
        assert_error(refused.value, 403, "forbidden")


def test_a_websocket_through_front_door_is_served(guarded: TestClient) -> None:
    guarded.headers["X-Azure-FDID"] = FRONT_DOOR  # every request and handshake of this client
    parley = Parley(guarded)
    alice, bob = parley.register_many(2)
    room_id = parley.group(alice, bob)["id"]
    with parley.connect(alice) as socket:
        ack, _ = socket.request({"type": "send", "room_id": room_id, "client_msg_id": "c1", "body": "hi"})
        assert ack["type"] == "ack" and ack["message"]["seq"] == 1


class WithoutDenialResponses:
    """A server without the denial-response extension, as some ASGI servers are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, "extensions": {}}, receive, send)


async def accept_and_greet(scope: Scope, receive: Receive, send: Send) -> None:
    websocket = WebSocket(scope, receive, send)
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def test_without_the_extension_the_handshake_is_closed_before_accept() -> None:
    app = WithoutDenialResponses(FrontDoorOnly(accept_and_greet, allowed_ids=[FRONT_DOOR]))
    client = TestClient(app)  # not entered: this tiny app has no lifespan
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws"):
            pass
    assert refused.value.code == 1008 and "Front Door" in refused.value.reason
    with client.websocket_connect("/ws", headers=through(FRONT_DOOR)) as session:
        assert session.receive_text() == "hello"


def test_the_middleware_refuses_an_empty_allow_list() -> None:
    with pytest.raises(ValueError, match="at least one Front Door id"):
        FrontDoorOnly(accept_and_greet, allowed_ids=[])


@pytest.mark.parametrize(
    "value",
    ["not-a-guid", f"{FRONT_DOOR},", f"{FRONT_DOOR};{NEXT_FRONT_DOOR}", "{" + FRONT_DOOR + "}"],
)
def test_a_bad_setting_is_refused_before_the_app_exists(value: str) -> None:
    with pytest.raises(ValidationError, match=r"front_door_ids[\s\S]*is not a Front Door id"):
        Settings(front_door_ids=value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        (f" {FRONT_DOOR.upper()} ", (FRONT_DOOR,)),
        (f"{FRONT_DOOR},{NEXT_FRONT_DOOR},{FRONT_DOOR}", (FRONT_DOOR, NEXT_FRONT_DOOR)),
    ],
)
def test_the_setting_is_a_comma_separated_list(value: str, expected: tuple[Any, ...]) -> None:
    assert Settings(front_door_ids=value).front_door_ids == expected
