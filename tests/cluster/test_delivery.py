"""Fifty users chat through nginx and through HAProxy in front of three nodes: connections land on every node,
and every acked message reaches every member's connection exactly once; clients hold each room in seq order.

Live frames themselves do not arrive in seq order when members of a room send at once (see
`test_live_frames_arrive_in_seq_order`, a known server bug): clients that follow protocol.md still end up
with every room in order, because a seq jump makes them `sync`."""

from __future__ import annotations

import time

import pytest

from tests.cluster.deployment import Deployment
from tests.cluster.workload import chat, connect, make_rooms, not_live_once, out_of_order, overlapping, settle, tally

pytestmark = pytest.mark.cluster

USERS, ROOM_SIZE, ROOM_STEP = 50, 10, 2
PER_CLIENT = 10
ORDER_PER_CLIENT = 20  # enough concurrent sends that some always overtake each other (see the xfail reason)


async def test_every_acked_message_reaches_every_member_once(
    deployment: Deployment, lb: str, report: list[str]
) -> None:
    accounts = await deployment.register(USERS)
    rooms = await make_rooms(deployment, accounts, overlapping(USERS, size=ROOM_SIZE, step=ROOM_STEP))
    clients = await connect(deployment.balancer.ws_url, accounts, rooms)
    try:
        per_node = await deployment.connections()
        started = time.monotonic()
        await chat(clients, per_client=PER_CLIENT, window=4)
        sent_in = time.monotonic() - started
        stored = await settle(deployment, clients, rooms)
    finally:
        for client in clients:
            await client.close()

    assert sum(per_node) == USERS and all(per_node), f"connections per node: {per_node}"
    assert [c.drops for c in clients if c.drops] == [], "no connection dropped"
    result = tally(stored, clients)
    assert result.acked == result.stored == USERS * PER_CLIENT
    assert (result.lost, result.seq_gaps, result.duplicated, result.stale_views) == ([], [], 0, [])
    not_once = not_live_once(clients, stored)
    assert not_once == [], f"member rooms without every message exactly once as a live frame: {not_once[:3]}"
    assert [c.errors for c in clients if c.errors] == []
    report.append(
        f"delivery behind {lb}: {USERS * PER_CLIENT} messages acked in {sent_in:.1f}s, connections per node "
        f"{per_node}; {len(out_of_order(clients))} of {sum(len(c.view) for c in clients)} member rooms got "
        f"live frames out of seq order ({sum(c.gap_syncs for c in clients)} gap syncs)"
    )


@pytest.mark.xfail(
    strict=True,
    reason="server bug: live `message` frames go out in the order senders' tasks publish, not in seq order",
)
@pytest.mark.parametrize(("lb", "nodes"), [("nginx", 2)])
async def test_live_frames_arrive_in_seq_order(deployment: Deployment) -> None:
    """Ten members of one room send at once; each member's live frames should come in seq order."""
    accounts = await deployment.register(ROOM_SIZE)
    rooms = await make_rooms(deployment, accounts, [list(range(ROOM_SIZE))])
    clients = await connect(deployment.balancer.ws_url, accounts, rooms)
    try:
        await chat(clients, per_client=ORDER_PER_CLIENT, window=4)
        await settle(deployment, clients, rooms)
    finally:
        for client in clients:
            await client.close()

    disordered = out_of_order(clients)
    assert disordered == [], f"{len(disordered)} of {ROOM_SIZE} members, the first got seqs {disordered[0][2]}"
