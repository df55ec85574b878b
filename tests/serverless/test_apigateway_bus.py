"""The API Gateway bus on moto: connection bookkeeping and presence, fan-out of one encoding to every
connection of the recipients, gone connections, and replies ordered before published events."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from app.bus.apigateway import ApiGatewayBus, ApiGatewayConfig
from app.bus.base import Event
from app.domain import User
from app.errors import Unavailable
from tests.serverless.conftest import Deployment, answer_gone, new_connection_id

ALICE = User("u-alice", "alice", "Alice")
BOB = User("u-bob", "bob", "Bob")
CAROL = User("u-carol", "carol", "Carol")
LATER = 4_000_000_000.0  # a token expiry far away


@pytest.fixture
async def bus(deployment: Deployment) -> AsyncIterator[ApiGatewayBus]:
    made = ApiGatewayBus.from_url(deployment.bus_url, node_id="lambda")
    yield made
    await made.close()


async def connect(bus: ApiGatewayBus, user: User) -> str:
    connection_id = new_connection_id()
    await bus.add_connection(connection_id, user, expires_at=LATER)
    return connection_id


def test_the_url_names_the_stage_the_table_and_the_region() -> None:
    config = ApiGatewayConfig.from_url("apigateway://abc123.execute-api.eu-west-1.amazonaws.com/prod?table=conns")
    assert config == ApiGatewayConfig("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", "conns", "eu-west-1")
    local = ApiGatewayConfig.from_url("apigateway://127.0.0.1:5000?table=t&region=us-west-2&tls=false")
    assert (local.endpoint, local.region) == ("http://127.0.0.1:5000", "us-west-2")
    for bad in ("apigateway://host/prod", "redis://host?table=t", "apigateway://?table=t"):
        with pytest.raises(ValueError):
            ApiGatewayConfig.from_url(bad)


async def test_a_user_is_online_while_they_hold_a_connection(bus: ApiGatewayBus) -> None:
    assert await bus.add_connection("c1", ALICE, expires_at=LATER) is True
    assert await bus.connected(ALICE.id) is True
    assert await bus.connected(ALICE.id) is False  # told once
    assert await bus.add_connection("c2", ALICE, expires_at=LATER) is False
    assert await bus.connected(ALICE.id) is False
    assert await bus.online([ALICE.id, BOB.id]) == {ALICE.id}

    assert await bus.remove_connection("c1") == (ALICE.id, False)
    assert not await bus.disconnected(ALICE.id)
    assert await bus.remove_connection("c2") == (ALICE.id, True)
    assert await bus.disconnected(ALICE.id)
    assert await bus.remove_connection("c2") == (None, False)
    assert await bus.online([ALICE.id]) == set()


async def test_a_connection_remembers_its_user_until_its_token_expires(bus: ApiGatewayBus) -> None:
    soon = time.time() + 60
    await bus.add_connection("c1", ALICE, expires_at=soon)
    info = await bus.connection("c1")
    assert info is not None and (info.user, info.expires_at, info.greeted) == (ALICE, int(soon), False)
    await bus.add_connection("c2", ALICE, expires_at=LATER)
    info = await bus.connection("c2")
    assert info is not None and info.expires_at <= time.time() + 2 * 3600  # API Gateway's limit
    assert await bus.greet("c1") is True
    assert await bus.greet("c1") is False
    assert await bus.connection("unknown") is None


async def test_publish_posts_one_encoding_to_every_connection_of_the_recipients(
    bus: ApiGatewayBus, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice_laptop, alice_phone, bobs, carols = (
        await connect(bus, ALICE),
        await connect(bus, ALICE),
        await connect(bus, BOB),
        await connect(bus, CAROL),
    )
    posted_data: list[bytes] = []
    post = bus._post

    async def spy(connection_id: str, data: bytes) -> bool:
        posted_data.append(data)
        return await post(connection_id, data)

    monkeypatch.setattr(bus, "_post", spy)
    frame = '{"type":"typing","room_id":"r","user":{"id":"u-alice"}}'
    await bus.publish(Event(user_ids=(ALICE.id, BOB.id, "u-offline"), frame=frame))

    for connection_id in (alice_laptop, alice_phone, bobs):
        assert deployment.moto.posted(connection_id) == frame.encode()
    assert deployment.moto.posted(carols) == b""
    assert len(posted_data) == 3 and len({id(data) for data in posted_data}) == 1  # serialised once


async def test_a_gone_connection_is_removed_by_its_id_alone(bus: ApiGatewayBus, deployment: Deployment) -> None:
    lapsed: list[list[str]] = []

    async def on_lapsed(user_ids: list[str]) -> None:
        lapsed.append(user_ids)

    await bus.start(lambda event: None, on_lapsed)
    laptop, phone, bobs = await connect(bus, ALICE), await connect(bus, ALICE), await connect(bus, BOB)
    answer_gone(bus, phone)
    await bus.publish(Event(user_ids=(ALICE.id, BOB.id), frame='{"type":"x"}'))

    assert await bus.connection(phone) is None
    assert await bus.connection(laptop) is not None and await bus.connection(bobs) is not None
    assert await bus.connections_of([ALICE.id, BOB.id]) == sorted([laptop, bobs])
    assert lapsed == []  # alice still has her laptop

    answer_gone(bus, laptop)
    await bus.publish(Event(user_ids=(ALICE.id,), frame='{"type":"x"}'))
    assert lapsed == [[ALICE.id]]
    assert await bus.online([ALICE.id, BOB.id]) == {BOB.id}


async def test_replies_go_out_in_order_before_what_the_invocation_publishes(
    bus: ApiGatewayBus, deployment: Deployment
) -> None:
    connection = await connect(bus, ALICE)
    bus.post_soon(connection, '{"n":1}')
    bus.post_soon(connection, '{"n":2}')
    assert deployment.moto.posted(connection) == b""  # queued, not yet posted
    await bus.publish(Event(user_ids=(ALICE.id,), frame='{"n":3}'))
    assert deployment.moto.posted(connection) == b'{"n":1}{"n":2}{"n":3}'


async def test_an_unreachable_connections_table_is_unavailable(deployment: Deployment) -> None:
    url = deployment.bus_url.replace(deployment.moto.endpoint, "http://127.0.0.1:1")
    bus = ApiGatewayBus.from_url(url, node_id="lambda")
    try:
        with pytest.raises(Unavailable):
            await bus.ping()
        with pytest.raises(Unavailable):
            await bus.online([ALICE.id])
    finally:
        await bus.close()
