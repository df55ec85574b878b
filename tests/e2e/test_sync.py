"""Reconnect and sync: a client that was away gets every message it missed from the store, in seq order,
exactly once, page by page while `has_more`, whichever node it reconnects to."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.harness import PAGE, Connector, create_group, register
from tests.support.servers import ServerProcess
from tests.support.wsclient import Frame

pytestmark = pytest.mark.e2e


def flatten(pages: list[Frame]) -> list[Frame]:
    return [message for page in pages for message in page["messages"]]


async def test_a_client_back_from_a_disconnect_syncs_what_it_missed(
    cluster: list[ServerProcess], http: httpx.AsyncClient, connect: Connector
) -> None:
    node1, node2 = cluster
    alice, bob = await register(http, cluster, 2)
    room_id = await create_group(http, node1, alice, [bob])
    alice1, bob2 = await connect(node1, alice), await connect(node2, bob)
    await alice1.send_messages(room_id, [f"before {i}" for i in range(3)])
    await bob2.wait_until(lambda: len(bob2.messages(room_id)) == 3)
    last_seen = max(m["seq"] for m in bob2.messages(room_id))
    await bob2.close()

    missed = await alice1.send_messages(room_id, [f"while away {i}" for i in range(100)])
    back = await connect(node2, bob)
    pages = await back.sync_all({room_id: last_seen})

    assert flatten(pages) == missed
    assert [m["seq"] for m in missed] == list(range(4, 104))


async def test_a_gap_larger_than_a_page_across_two_rooms_syncs_in_pages(
    cluster: list[ServerProcess], http: httpx.AsyncClient, connect: Connector
) -> None:
    node1, node2 = cluster
    alice, bob = await register(http, cluster, 2)
    room_a = await create_group(http, node1, alice, [bob], name="a")
    room_b = await create_group(http, node2, alice, [bob], name="b")
    alice1, alice2 = await connect(node1, alice), await connect(node2, alice)

    missed_a, missed_b = await asyncio.gather(
        alice1.send_messages(room_a, [f"a{i}" for i in range(300)], timeout=60),
        alice2.send_messages(room_b, [f"b{i}" for i in range(150)], timeout=60),
    )
    assert [m["seq"] for m in missed_a + missed_b] == [*range(1, 301), *range(1, 151)]
    bob1 = await connect(node1, bob)
    pages = await bob1.sync_all({room_a: 0, room_b: 0})

    assert len(pages) >= 3 and all(len(p["messages"]) <= PAGE for p in pages)
    assert [p["has_more"] for p in pages] == [True] * (len(pages) - 1) + [False]
    synced = flatten(pages)
    assert len(synced) == 450
    assert [m for m in synced if m["room_id"] == room_a] == missed_a
    assert [m for m in synced if m["room_id"] == room_b] == missed_b
