"""The Bus contract (app/bus/base.py), run against the in-memory bus and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from app.bus.base import Event
from app.bus.redis import RedisBus, decode, encode
from app.errors import Unavailable
from tests.conftest import REDIS_URL, bus_prefix


async def started(make: Callable[[str], Any], node_id: str) -> tuple[Any, list[Event]]:
    received: list[Event] = []
    bus = make(node_id)
    await bus.start(received.append)
    return bus, received


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_publish_reaches_this_node_at_once(bus_factory: Any) -> None:
    node, received = await started(bus_factory, "a")
    await node.publish(Event(user_ids=("u1",), frame="{}", kind="typing"))
    assert [(e.user_ids, e.frame, e.kind) for e in received] == [(("u1",), "{}", "typing")]


async def test_publish_reaches_other_nodes_in_order(bus_factory: Any) -> None:
    if bus_factory.backend == "memory":
        pytest.skip("the in-memory bus serves one process: there is no other node")
    node_a, got_a = await started(bus_factory, "a")
    _node_b, got_b = await started(bus_factory, "b")
    for i in range(50):
        await node_a.publish(Event(user_ids=("u1", "u2"), frame=f'{{"n": {i}}}', kind="message"))
    await wait_for(lambda: len(got_b) >= 50)
    assert [e.frame for e in got_b] == [f'{{"n": {i}}}' for i in range(50)]
    assert got_b[0].user_ids == ("u1", "u2") and got_b[0].kind == "message"
    await asyncio.sleep(0.1)
    assert len(got_a) == 50, "a node must not receive its own events twice"


async def test_presence_on_one_node(bus_factory: Any) -> None:
    node, _ = await started(bus_factory, "a")
    assert await node.connected("alice") is True
    assert await node.online(["alice", "bob"]) == {"alice"}
    assert await node.disconnected("alice") is True
    assert await node.online(["alice"]) == set()


async def test_presence_counts_every_node(bus_factory: Any) -> None:
    if bus_factory.backend == "memory":
        pytest.skip("the in-memory bus serves one process: there is no other node")
    node_a, _ = await started(bus_factory, "a")
    node_b, _ = await started(bus_factory, "b")
    assert await node_a.connected("alice") is True
    assert await node_b.connected("alice") is False
    assert await node_a.disconnected("alice") is False
    assert await node_a.online(["alice"]) == {"alice"}
    assert await node_b.disconnected("alice") is True
    assert await node_b.online(["alice"]) == set()


async def test_dead_node_presence_lapses_and_is_reported_once() -> None:
    prefix = bus_prefix()
    survivors = [RedisBus(REDIS_URL, node_id=f"alive{i}", prefix=prefix, liveness_seconds=1.5) for i in range(2)]
    dying = RedisBus(REDIS_URL, node_id="dying", prefix=prefix, liveness_seconds=1.5)
    reported: list[list[str]] = []

    async def lapsed(user_ids: list[str]) -> None:
        reported.append(sorted(user_ids))

    for bus in (*survivors, dying):
        await bus.start(lambda e: None, lapsed)
    try:
        await dying.connected("carol")
        await dying.connected("dave")
        await survivors[0].connected("dave")
        assert await survivors[1].online(["carol", "dave"]) == {"carol", "dave"}
        await dying._redis.delete(f"{prefix}:node:dying")  # the node dies: no heartbeat, no clean-up
        for task in dying._tasks:
            task.cancel()
        await wait_for(lambda: bool(reported), timeout=5)
        await asyncio.sleep(1.0)
        assert reported == [["carol"]], "each lapsed user is reported once, by one node"
        assert await survivors[1].online(["carol", "dave"]) == {"dave"}
        assert await survivors[1].connected("carol") is True
    finally:
        for bus in survivors:
            await bus.close()
        await dying._redis.aclose()


def test_event_encoding_round_trips() -> None:
    event = Event(user_ids=("a", "b"), frame='{"body": "x,y\\u0000z"}', origin="n1", sent_at=1.5, kind="message")
    assert decode(encode(event)) == event
    empty = Event(user_ids=(), frame="{}", origin="n", sent_at=2.0)
    assert decode(encode(empty)) == empty


async def test_unreachable_redis_is_unavailable() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", node_id="x")
    with pytest.raises(Unavailable):
        await bus.ping()
    with pytest.raises(Unavailable):
        await bus.publish(Event(user_ids=("u",), frame="{}"))
    with pytest.raises(Unavailable):
        await bus.connected("u")
    await bus.close()
