"""Concurrent senders on two nodes sharing one database, into one room: seq stays 1..N with no gap and no
duplicate on every SQL backend, and every member connection receives every message exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

import httpx
import pytest

from tests.e2e.harness import Account, Connector, create_group, history, register
from tests.support.servers import ServerProcess
from tests.support.wsclient import Frame, WsClient

pytestmark = pytest.mark.e2e

SENDERS = 20
MESSAGES_EACH = 5
TOTAL = SENDERS * MESSAGES_EACH


async def send_in_turn(client: WsClient, room_id: str, sender: int) -> list[Frame]:
    """Send one message after another, each once the previous one is acknowledged."""
    return [
        await client.send_message(room_id, f"sender {sender} message {i}", timeout=60) for i in range(MESSAGES_EACH)
    ]


def seqs_received(client: WsClient, room_id: str) -> list[int]:
    return [m["seq"] for m in client.messages(room_id)]


async def wait_on_each(clients: list[WsClient], condition: Callable[[WsClient], bool]) -> None:
    await asyncio.gather(*(client.wait_until(partial(condition, client), timeout=30) for client in clients))


async def read_barrier(clients: list[WsClient], readers: list[tuple[WsClient, Account]], room_id: str) -> None:
    """Each of `readers` (one per node) sends `read`, which goes to every member connection. A node's events
    arrive in the order it published them, so once every client has both `read` frames, any extra copy
    of a message, published before, has arrived too."""
    for reader, _ in readers:
        await reader.send({"type": "read", "room_id": room_id, "seq": TOTAL})
    user_ids = {account.id for _, account in readers}
    await wait_on_each(clients, lambda client: user_ids <= {f["user"]["id"] for f in client.of_type("read")})


@pytest.mark.parametrize("database_url", ["postgresql", "sqlite", "mariadb"], indirect=True)
async def test_concurrent_senders_on_two_nodes_get_gap_free_seqs(
    cluster: list[ServerProcess], http: httpx.AsyncClient, connect: Connector
) -> None:
    accounts = await register(http, cluster, SENDERS)
    room_id = await create_group(http, cluster[0], accounts[0], accounts[1:])
    clients = list(await asyncio.gather(*(connect(cluster[i % 2], a) for i, a in enumerate(accounts))))

    acks = await asyncio.gather(*(send_in_turn(client, room_id, i) for i, client in enumerate(clients)))

    every_seq = list(range(1, TOTAL + 1))
    assert sorted(m["seq"] for batch in acks for m in batch) == every_seq
    assert all([m["seq"] for m in batch] == sorted({m["seq"] for m in batch}) for batch in acks)
    assert [m["seq"] for m in await history(http, cluster[1], accounts[1], room_id)] == every_seq
    await wait_on_each(clients, lambda client: len(set(seqs_received(client, room_id))) == TOTAL)
    await read_barrier(clients, [(clients[0], accounts[0]), (clients[1], accounts[1])], room_id)
    for client in clients:
        assert sorted(seqs_received(client, room_id)) == every_seq, "each message exactly once"
