"""Two nodes on one PostgreSQL database and one Redis: every live event reaches members wherever they are
connected, and a repeated `client_msg_id` is stored and broadcast once, whichever nodes it is sent to."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.harness import (
    Connector,
    Nodes,
    cluster_env,
    create_group,
    history,
    my_rooms,
    register,
    wait_for_metric,
)
from tests.support.servers import ServerProcess
from tests.support.wsclient import WsClient, send_frame

pytestmark = pytest.mark.e2e

BURST = 5


def presence_of(client: WsClient, user_id: str) -> list[bool]:
    return [f["online"] for f in client.of_type("presence") if f["user"] == user_id]


async def test_a_message_sent_on_one_node_reaches_members_on_the_other(
    cluster: list[ServerProcess], http: httpx.AsyncClient, connect: Connector
) -> None:
    node1, node2 = cluster
    alice, bob = await register(http, cluster, 2)
    room_id = await create_group(http, node1, alice, [bob])
    alice1, alice2, bob2 = await connect(node1, alice), await connect(node2, alice), await connect(node2, bob)

    sent = await alice1.send_message(room_id, "hello from node 1")

    assert (sent["seq"], sent["sender"], sent["body"]) == (1, alice.id, "hello from node 1")
    for client in (bob2, alice2, alice1):
        assert (await client.wait_for_type("message"))["message"] == sent
    assert [f["type"] for f in alice1.of_type("ack", "message")] == ["ack", "message"], "the ack comes first"


async def test_typing_crosses_nodes_to_the_other_members_only(
    cluster: list[ServerProcess], http: httpx.AsyncClient, connect: Connector
) -> None:
    node1, node2 = cluster
    alice, bob = await register(http, cluster, 2)
    room_id = await create_group(http, node1, alice, [bob])
    alice1, alice2, bob2 = await connect(node1, alice), await connect(node2, alice), await connect(node2, bob)

    await alice1.send({"type": "typing", "room_id": room_id})
    assert await bob2.wait_for_type("typing") == {"type": "typing", "room_id": room_id, "user": alice.public}

    # Node 2 delivers node 1's events in order: a typing frame for alice's other connection would come first.
    sent = await alice1.send_message(room_id, "done typing")
    await alice2.wait_for_type("message", message=sent)
    assert alice2.of_type("typing") == [] and alice1.of_type("typing") == []


async def test_presence_crosses_nodes_and_goes_offline_with_the_last_connection(
    cluster: list[ServerProcess], http: httpx.AsyncClient, connect: Connector
) -> None:
    node1, node2 = cluster
    alice, bob, carol = await register(http, cluster, 3)
    room_id = await create_group(http, node1, alice, [bob, carol])
    bob2, carol1 = await connect(node2, bob), await connect(node1, carol)

    alice1 = await connect(node1, alice)
    await bob2.wait_for_type("presence", user=alice.id, online=True)
    assert presence_of(alice1, bob.id) == [True], "alice learns on node 1 that bob is online on node 2"

    alice2 = await connect(node2, alice)
    await alice1.close()
    await wait_for_metric(http, node1, "parley_connections", lambda n: n == 1)
    # An event node 1 publishes now follows any presence it published for alice1's close.
    await carol1.send({"type": "typing", "room_id": room_id})
    await bob2.wait_for_type("typing", user=carol.public)
    assert presence_of(bob2, alice.id) == [True], "alice still has a connection on node 2"

    await alice2.close()
    await bob2.wait_for_type("presence", user=alice.id, online=False)
    assert presence_of(bob2, alice.id) == [True, False]


async def test_read_cursors_cross_nodes_and_only_move_forward(
    cluster: list[ServerProcess], http: httpx.AsyncClient, connect: Connector
) -> None:
    node1, node2 = cluster
    alice, bob = await register(http, cluster, 2)
    room_id = await create_group(http, node1, alice, [bob])
    alice1, bob2 = await connect(node1, alice), await connect(node2, bob)
    await alice1.send_messages(room_id, ["one", "two", "three"])

    await bob2.send({"type": "read", "room_id": room_id, "seq": 2})
    first = await alice1.wait_for_type("read")
    await bob2.send({"type": "read", "room_id": room_id, "seq": 1})
    await alice1.wait_until(lambda: len(alice1.of_type("read")) == 2)

    assert first == {"type": "read", "room_id": room_id, "user": bob.public, "seq": 2}
    assert [f["seq"] for f in alice1.of_type("read")] == [2, 2]
    mine = (await my_rooms(http, node1, bob))[room_id]
    assert (mine["read_seq"], mine["unread"]) == (2, 1)


async def test_the_same_client_msg_id_on_two_nodes_is_stored_and_broadcast_once(
    cluster: list[ServerProcess], http: httpx.AsyncClient, connect: Connector
) -> None:
    node1, node2 = cluster
    alice, bob = await register(http, cluster, 2)
    room_id = await create_group(http, node1, alice, [bob])
    alice1, alice2 = await connect(node1, alice), await connect(node2, alice)
    bob1, bob2 = await connect(node1, bob), await connect(node2, bob)
    frame = send_frame(room_id, "only once", client_msg_id="dup-1")

    first, second = await asyncio.gather(alice1.request(frame), alice2.request(frame))
    third = await alice2.request(frame)

    assert [a["type"] for a in (first, second, third)] == ["ack"] * 3
    assert first["message"] == second["message"] == third["message"]
    assert first["message"]["seq"] == 1
    # Each connection's frames are handled in order, so any broadcast of the repeats precedes these.
    markers = [await alice1.send_message(room_id, "marker 1"), await alice2.send_message(room_id, "marker 2")]
    for client in (alice1, alice2, bob1, bob2):
        for marker in markers:
            await client.wait_for_type("message", message=marker)
        assert [m["client_msg_id"] for m in client.messages()].count("dup-1") == 1
    assert [m["seq"] for m in await history(http, node2, bob, room_id)] == [1, 2, 3]


async def test_the_rate_limit_is_per_user_across_nodes(
    database_url: str, nodes: Nodes, http: httpx.AsyncClient, connect: Connector
) -> None:
    """protocol.md: the limit is messages per second per user, so two nodes must not double it."""
    env = {**cluster_env(database_url), "PARLEY_MESSAGES_PER_SECOND": "0.2", "PARLEY_MESSAGE_BURST": str(BURST)}
    node1, node2 = nodes.start(env, count=2)
    alice, bob = await register(http, [node1, node2], 2)
    room_id = await create_group(http, node1, alice, [bob])
    alice1, alice2 = await connect(node1, alice), await connect(node2, alice)

    answers = []
    for i in range(BURST + 1):
        answers.append(await (alice1, alice2)[i % 2].request(send_frame(room_id, f"message {i}")))

    assert [a["type"] for a in answers] == ["ack"] * BURST + ["error"]
    assert answers[-1]["code"] == "rate_limited"
