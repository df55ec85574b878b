"""`GET /api/v1/endpoints` (app/api/routes/ops.py): where clients open the WebSocket. Null unless
`PARLEY_PUBLIC_WEBSOCKET_URL` names another address, so every deployment without the setting keeps `/ws`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.conftest import API, Parley

SERVERLESS = "wss://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod"


def test_without_the_setting_clients_use_ws_on_this_host(client: TestClient) -> None:
    response = client.get(f"{API}/endpoints")
    assert response.status_code == 200, response.text
    assert response.json() == {"websocket_url": None}
    # ... and the WebSocket really is there.
    parley = Parley(client)
    with parley.connect(parley.register()) as socket:
        assert socket.request({"type": "ping"})[0]["type"] == "pong"


def test_the_setting_is_served_as_given_without_a_token(make_client: Callable[..., TestClient]) -> None:
    client = make_client(public_websocket_url=SERVERLESS)
    response = client.get(f"{API}/endpoints")  # no Authorization: clients ask before they sign in
    assert response.status_code == 200, response.text
    assert response.json() == {"websocket_url": SERVERLESS}


def test_an_empty_setting_means_this_host(make_client: Callable[..., TestClient]) -> None:
    assert make_client(public_websocket_url="").get(f"{API}/endpoints").json() == {"websocket_url": None}


def test_the_limits_answer_is_unchanged(make_client: Callable[..., TestClient]) -> None:
    """The address has its own endpoint: `/limits` keeps exactly the fields protocol.md lists."""
    limits = make_client(public_websocket_url=SERVERLESS).get(f"{API}/limits").json()
    assert set(limits) == {"max_body_bytes", "max_frame_bytes", "messages_per_second", "message_burst", "page_max"}
