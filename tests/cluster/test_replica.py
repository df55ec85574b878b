"""A node reading history from a real MariaDB replica (the primary/replica pair operators run).

While replication keeps up, history and `sync` are read on the replica. When it lags (its SQL thread paused)
or is gone, whatever it cannot answer in full is read on the primary, so a client never gets less than was
acked (read your writes); once it catches up, reads go back to it. Readiness needs the primary only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.store.migrate import upgrade
from tests.e2e.harness import Account, Connector, Nodes, create_group, history, register, scrape
from tests.support.instances import ReplicaPair, mariadb_replica_pair
from tests.support.servers import ServerProcess
from tests.support.wsclient import Frame, WsClient

pytestmark = pytest.mark.cluster

READS = "parley_history_reads_total"


@pytest.fixture(scope="module")
def replica_pair() -> Iterator[ReplicaPair]:
    with mariadb_replica_pair() as started:
        yield started


@pytest.fixture
def pair(replica_pair: ReplicaPair) -> Iterator[ReplicaPair]:
    """The module's pair, replicating and caught up again after each test, whatever the test paused or stopped."""
    yield replica_pair
    replica_pair.restore()


@pytest.fixture
async def database(pair: ReplicaPair) -> str:
    """A database of the test's own, migrated on the primary and carried to the replica by replication."""
    name = f"parley_{uuid.uuid4().hex[:12]}"
    pair.primary.create_database(name)
    await asyncio.to_thread(upgrade, pair.primary.url(name))
    pair.wait_replicated()
    return name


@pytest.fixture
def node(pair: ReplicaPair, database: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """One node writing to the primary and reading history from the replica."""
    env = {
        "PARLEY_DATABASE_URL": pair.primary.url(database),
        "PARLEY_DATABASE_REPLICA_URL": pair.replica.url(database),
        "PARLEY_BUS_URL": "memory://",
    }
    nodes = Nodes(tmp_path)
    try:
        (started,) = nodes.start(env)
        yield started
    finally:
        nodes.stop_all()


async def reads(http: httpx.AsyncClient, node: ServerProcess) -> dict[str, float]:
    samples = await scrape(http, node)
    return {source: samples.get(f"{READS}{{source={source}}}", 0.0) for source in ("replica", "primary")}


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {source: after[source] - before[source] for source in after}


async def page(
    http: httpx.AsyncClient, node: ServerProcess, account: Account, room_id: str, **query: Any
) -> list[Frame]:
    answer = await http.get(f"{node.base_url}/api/v1/rooms/{room_id}/messages", headers=account.headers, params=query)
    assert answer.status_code == 200, answer.text
    messages: list[Frame] = answer.json()["messages"]
    return messages


async def synced(client: WsClient, room_id: str, after_seq: int) -> list[Frame]:
    return [message for answer in await client.sync_all({room_id: after_seq}) for message in answer["messages"]]


def replica_last_seq(pair: ReplicaPair, database: str, room_id: str) -> int:
    """The room's newest seq as the replica holds it."""
    return int(pair.replica.sql(f"SELECT last_seq FROM `{database}`.rooms WHERE id = '{room_id}'"))


async def test_reads_use_the_replica_and_fall_back_to_the_primary_while_it_lags(
    pair: ReplicaPair, database: str, node: ServerProcess, http: httpx.AsyncClient, connect: Connector
) -> None:
    alice, bob = await register(http, [node], 2)
    room_id = await create_group(http, node, alice, [bob])
    alice_ws, bob_ws = await connect(node, alice), await connect(node, bob)
    acked = await alice_ws.send_messages(room_id, [f"replicated {i}" for i in range(10)])
    pair.wait_replicated()

    before = await reads(http, node)
    assert await history(http, node, bob, room_id) == acked
    assert await synced(bob_ws, room_id, 0) == acked
    assert moved(before, await reads(http, node)) == {"replica": 2, "primary": 0}

    pair.pause()
    acked += await alice_ws.send_messages(room_id, [f"while the replica lags {i}" for i in range(10)])
    assert replica_last_seq(pair, database, room_id) == 10, "the replica lags behind the primary's 20"
    before = await reads(http, node)
    assert await page(http, node, bob, room_id, after_seq=5) == acked[5:]
    assert await synced(bob_ws, room_id, 10) == acked[10:]
    assert await history(http, node, bob, room_id) == acked
    assert moved(before, await reads(http, node)) == {"replica": 0, "primary": 3}

    pair.resume()
    pair.wait_replicated()
    before = await reads(http, node)
    assert await history(http, node, bob, room_id) == acked
    assert await synced(bob_ws, room_id, 10) == acked[10:]
    assert moved(before, await reads(http, node)) == {"replica": 2, "primary": 0}


async def test_a_stopped_replica_leaves_history_complete_and_the_node_ready(
    pair: ReplicaPair, database: str, node: ServerProcess, http: httpx.AsyncClient, connect: Connector
) -> None:
    alice, bob = await register(http, [node], 2)
    room_id = await create_group(http, node, alice, [bob])
    alice_ws, bob_ws = await connect(node, alice), await connect(node, bob)
    acked = await alice_ws.send_messages(room_id, [f"replicated {i}" for i in range(5)])
    pair.wait_replicated()

    pair.replica.stop()
    acked += await alice_ws.send_messages(room_id, [f"without a replica {i}" for i in range(5)])
    before = await reads(http, node)
    assert await history(http, node, bob, room_id) == acked
    assert await synced(bob_ws, room_id, 0) == acked
    assert moved(before, await reads(http, node)) == {"replica": 0, "primary": 2}
    answer = await http.get(f"{node.base_url}/readyz")
    assert answer.status_code == 200, answer.text

    pair.replica.start()
    pair.wait_replicated()
    assert replica_last_seq(pair, database, room_id) == 10, "the restarted replica caught up by itself"
    before = await reads(http, node)
    assert await history(http, node, bob, room_id) == acked
    assert moved(before, await reads(http, node)) == {"replica": 1, "primary": 0}


async def test_an_edit_and_a_delete_are_read_back_while_the_replica_lags(
    pair: ReplicaPair, node: ServerProcess, http: httpx.AsyncClient, connect: Connector
) -> None:
    alice, bob = await register(http, [node], 2)
    room_id = await create_group(http, node, alice, [bob])
    alice_ws, bob_ws = await connect(node, alice), await connect(node, bob)
    await alice_ws.send_messages(room_id, [f"replicated {i}" for i in range(5)])
    pair.wait_replicated()

    pair.pause()
    messages = f"{node.base_url}/api/v1/rooms/{room_id}/messages"
    edit = await http.patch(f"{messages}/2", headers=alice.headers, json={"body": "edited"})
    assert edit.status_code == 200, edit.text
    deletion = await http.delete(f"{messages}/3", headers=alice.headers)
    assert deletion.status_code == 204, deletion.text

    for read in (await history(http, node, bob, room_id), await synced(bob_ws, room_id, 0)):
        assert read[1] == edit.json(), "the edit is read back"
        assert (read[2]["deleted"], read[2]["body"]) == (True, ""), "the deleted body is gone"
