"""A node is SIGKILLed while fifty users chat through nginx or HAProxy. Its clients see their sockets drop,
reconnect through the load balancer to the two survivors with backoff, `sync` from the last seq they hold and
send every unacked message again with the same client_msg_id. Nothing acked is lost, nothing is stored or
delivered twice, every member ends up holding every message, and a user who does not come back is reported
offline once the dead node's liveness lapses.

The figures (reconnect time from the drop to the first successful `sync`, sends in flight at the kill and how
many of those the store already held) are printed under "cluster figures" at the end of the run."""

from __future__ import annotations

import asyncio
import re
import statistics
import time

import pytest

from app.chat import REANNOUNCE_AFTER_MS
from tests.cluster.balancer import node_name
from tests.cluster.client import ChatClient
from tests.cluster.deployment import Deployment
from tests.cluster.workload import chat, connect, make_rooms, overlapping, settle, tally, until
from tests.conftest import bus_prefix
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.cluster

USERS, ROOM_SIZE, ROOM_STEP = 50, 10, 2
PER_CLIENT = 12
KILL_AT = 0.3  # the share of all messages acked when the node is killed
# HAProxy checks /readyz every 2 s and takes a node out after 3 failures (the rendered `inter 2s fall 3`).
HAPROXY_MARKS_DOWN_WITHIN = 15.0
# A dead node's users lapse with its liveness key (PARLEY_HEARTBEAT_SECONDS, 10 s here); survivors sweep
# every third of that.
OFFLINE_WITHIN = 20.0


async def test_a_killed_node_loses_and_duplicates_nothing(deployment: Deployment, lb: str, report: list[str]) -> None:
    survivor, doomed = deployment.nodes[0], deployment.nodes[1]
    accounts = await deployment.register(USERS + 2)
    users, (victim, watcher) = accounts[:USERS], accounts[USERS:]
    rooms = await make_rooms(deployment, users, overlapping(USERS, size=ROOM_SIZE, step=ROOM_STEP))
    pair = await deployment.create_room(watcher, [victim])
    # The victim sits on the doomed node and never comes back; the watcher, on a survivor, shares a room with it.
    victim_client = ChatClient(victim.id, victim.token, doomed.ws_url, [pair], reconnect=False)
    watcher_client = ChatClient(watcher.id, watcher.token, survivor.ws_url, [pair])
    clients: list[ChatClient] = []
    try:
        await victim_client.start()
        await watcher_client.start()
        clients = await connect(deployment.balancer.ws_url, users, rooms)
        on_doomed = (await deployment.connections([doomed]))[0] - 1
        assert watcher_client.presence.get(victim.id) is True
        workload = asyncio.create_task(chat(clients, per_client=PER_CLIENT, window=2, pause=0.02))
        await until(lambda: sum(map(len, (c.acked for c in clients))) >= KILL_AT * USERS * PER_CLIENT, "acks")
        assert not workload.done()

        deployment.kill(doomed)
        killed_at = time.monotonic()
        marked_down = asyncio.create_task(_haproxy_marks_down(deployment, doomed)) if lb == "haproxy" else None
        offline_after, _ = await asyncio.gather(
            until(lambda: watcher_client.presence.get(victim.id) is False, "victim offline", OFFLINE_WITHIN),
            asyncio.wait_for(workload, 60),
        )
        stored = await settle(deployment, clients, rooms)
        survivors = await deployment.connections([n for n in deployment.nodes if n is not doomed])
        down_after = (await marked_down) - killed_at if marked_down else None
    finally:
        for client in (*clients, victim_client, watcher_client):
            await client.close()

    dropped = [c for c in clients if c.reconnects]
    assert len(dropped) == on_doomed > 0, f"only the killed node's clients dropped: {[c.drops for c in dropped]}"
    assert all(len(c.reconnects) == 1 for c in dropped)
    assert sum(survivors) == USERS + 1, f"everyone but the victim is back, on the survivors: {survivors}"
    result = tally(stored, clients)
    assert result.acked == result.stored == USERS * PER_CLIENT
    assert (result.lost, result.seq_gaps, result.duplicated, result.stale_views) == ([], [], 0, [])
    in_flight = {cmid for c in dropped for cmid in c.in_flight_at_drop}
    already_stored = {cmid for c in dropped for cmid in c.in_flight_at_drop if cmid in c.stored_before_ack}
    assert all(cmid in c.acked for c in dropped for cmid in c.in_flight_at_drop)
    assert [c.errors for c in clients if c.errors] == []
    if lb == "nginx":
        assert _retries_refused_handshakes(deployment) and _refused_handshakes(deployment) > 0

    seconds = [r.seconds for c in dropped for r in c.reconnects]
    handshakes = [r.connected_at - r.dropped_at for c in dropped for r in c.reconnects]
    attempts = [r.attempts for c in dropped for r in c.reconnects]
    closes = sorted({str(closed) for c in dropped for closed in c.drops})
    how = (
        f"HAProxy marked it down {down_after:.1f}s after the kill"
        if down_after is not None
        else f"nginx sent {_refused_handshakes(deployment)} handshakes to it and retried each on the next node"
    )
    report.append(
        f"failover behind {lb}: {len(dropped)} clients dropped (close codes {closes}); reconnect to first sync p50 "
        f"{statistics.median(seconds):.2f}s max {max(seconds):.2f}s (socket open again p50 "
        f"{statistics.median(handshakes):.2f}s; {max(attempts)} attempts at most); "
        f"{len(in_flight)} sends in flight at the kill, {len(already_stored)} of them already stored, each once "
        f"after resend; lost {len(result.lost)}, duplicated {result.duplicated}; {how}; victim reported offline "
        f"{offline_after:.1f}s after the kill"
    )


async def _haproxy_marks_down(deployment: Deployment, node: ServerProcess) -> float:
    """When HAProxy's checks took `node` out of rotation."""
    name, up = node_name(deployment.nodes.index(node)), deployment.balancer.haproxy_up
    await until(lambda: up().get(name) is False, f"HAProxy marks {name} down", timeout=HAPROXY_MARKS_DOWN_WITHIN)
    return time.monotonic()


def _refused_handshakes(deployment: Deployment) -> int:
    """nginx checks nodes passively only, so it sends handshakes to the dead node until it has seen enough of
    them refused; each is in its error log (and went on to the next node: `_retries_refused_handshakes`)."""
    return len(re.findall(r"connect\(\) failed \(111: Connection refused\)", deployment.balancer.log()))


def _retries_refused_handshakes(deployment: Deployment) -> bool:
    """The rendered nginx file passes a request that meets a refused connection on to the next node."""
    text = deployment.balancer.config.read_text()
    directive = re.search(r"^\s*proxy_next_upstream\s+([^;]*);", text, re.MULTILINE)
    return directive is not None and "error" in directive.group(1).split()


@pytest.mark.parametrize(("lb", "nodes"), [("nginx", 1)])
async def test_a_resent_message_whose_announcement_died_with_its_node_reaches_online_members(
    deployment: Deployment,
) -> None:
    alice, bob = await deployment.register(2)
    room = await deployment.create_room(alice, [bob])
    # The node that stores alice's message announces it on a bus no other node listens to: for everyone else it
    # is the node that died after its commit and before its publish.
    (silent,) = await deployment.add_nodes(1, PARLEY_BUS_PREFIX=bus_prefix())
    bob_client = ChatClient(bob.id, bob.token, deployment.balancer.ws_url, [room])
    alice_then = ChatClient(alice.id, alice.token, silent.ws_url, [room], reconnect=False)
    alice_now = ChatClient(alice.id, alice.token, deployment.balancer.ws_url, [room])
    try:
        for client in (bob_client, alice_then, alice_now):
            await client.start()
        stored = await alice_then.send(room, "stored, never announced", client_msg_id="resent-1")
        deployment.kill(silent)
        # A client resends after reconnecting; a repeat within REANNOUNCE_AFTER_MS is taken for a retry racing
        # the original's own announcement, and is not announced again.
        await asyncio.sleep(REANNOUNCE_AFTER_MS / 1000)
        resent = await alice_now.send(room, "stored, never announced", client_msg_id="resent-1")
        assert resent == stored, "the resend is answered with the stored message"
        await until(lambda: len(bob_client.view[room]) == 1, "bob holds the message", timeout=5)
    finally:
        for client in (bob_client, alice_then, alice_now):
            await client.close()
