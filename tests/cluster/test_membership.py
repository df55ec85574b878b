"""Nodes join and leave a running cluster behind nginx and HAProxy, as the runbooks in docs/cluster.md say.

Scale out: a fourth node starts, `parley render cluster` writes the four-node file, the balancer reloads
(nginx `-s reload`; HAProxy SIGUSR2 to its master in master-worker mode). Every open WebSocket keeps working
(ping, and live delivery both ways), and new connections reach the new node.

Planned removal: the file is rendered with `--drain` for node 1 and reloaded, so new connections avoid it; the
node is then stopped (SIGTERM) while users chat. Its clients reconnect to the others and nothing is lost."""

from __future__ import annotations

import asyncio
import statistics

import httpx
import pytest

from tests.cluster.client import ChatClient
from tests.cluster.deployment import Deployment
from tests.cluster.workload import chat, connect, make_rooms, not_live_once, settle, tally, until

pytestmark = pytest.mark.cluster

BEFORE, JOINING, LATE = 12, 8, 4  # clients connected before the scale-out, after it, and after the drain
PER_CLIENT = 3


async def test_nodes_join_and_leave_without_dropping_connections_or_messages(
    deployment: Deployment, lb: str, report: list[str]
) -> None:
    accounts = await deployment.register(BEFORE + JOINING + LATE)
    rooms = await make_rooms(deployment, accounts, [list(range(len(accounts)))])
    balancer = deployment.balancer
    clients: list[ChatClient] = []
    try:
        clients += await connect(balancer.ws_url, accounts[:BEFORE], rooms)
        assert all(await deployment.connections()), "the first clients spread over the three nodes"

        (fourth,) = await deployment.add_nodes(1)
        reloaded = asyncio.Event()
        knocking = asyncio.create_task(_knock(balancer.base_url, until=reloaded))
        await asyncio.to_thread(balancer.reload, deployment.nodes)
        reloaded.set()
        knocks, refused = await knocking
        pongs = await asyncio.gather(*(client.ping() for client in clients))
        clients += await connect(balancer.ws_url, accounts[BEFORE : BEFORE + JOINING], rooms)
        on_fourth = (await deployment.connections([fourth]))[0]
        await chat(clients, per_client=PER_CLIENT, window=PER_CLIENT)
        scaled_out_history = await settle(deployment, clients, rooms)
        scaled_out = [len(c.connections) for c in clients]
        missed = not_live_once(clients, scaled_out_history)

        first = deployment.nodes[0]
        await asyncio.to_thread(balancer.reload, deployment.nodes, "--drain", f"127.0.0.1:{first.port}")
        on_first = (await deployment.connections([first]))[0]
        clients += await connect(balancer.ws_url, accounts[BEFORE + JOINING :], rooms)
        after_drain = (await deployment.connections([first]))[0]
        workload = asyncio.create_task(chat(clients, per_client=PER_CLIENT, window=1, pause=0.05))
        await until(lambda: sum(len(c.acked) for c in clients) > (BEFORE + JOINING) * PER_CLIENT, "acks")
        await asyncio.to_thread(first.stop)
        await asyncio.wait_for(workload, 60)
        stored = await settle(deployment, clients, rooms)
        remaining = await deployment.connections(deployment.nodes[1:])
    finally:
        for client in clients:
            await client.close()

    assert knocks > 0 and refused == [], "new connections made during the reload are all served"
    assert [p["type"] for p in pongs] == ["pong"] * BEFORE, "every connection opened before the reload answers"
    assert scaled_out == [1] * (BEFORE + JOINING), "no connection dropped on the reload"
    assert on_fourth > 0, "new connections reach the new node"
    assert missed == [], "every open connection got every message live, exactly once"
    assert after_drain == on_first, "no new connection goes to the drained node"
    moved = [c for c in clients if c.reconnects]
    assert len(moved) == on_first > 0, "the stopped node's clients, and only those, reconnected"
    assert sum(remaining) == len(accounts)
    result = tally(stored, clients)
    assert result.acked == result.stored == 2 * PER_CLIENT * (BEFORE + JOINING) + PER_CLIENT * LATE
    assert (result.lost, result.seq_gaps, result.duplicated, result.stale_views) == ([], [], 0, [])
    seconds = [r.seconds for c in moved for r in c.reconnects]
    report.append(
        f"membership behind {lb}: {on_fourth} of {JOINING} new connections on the new node after the reload; "
        f"{len(moved)} clients moved off the drained node when it stopped, reconnect to first sync p50 "
        f"{statistics.median(seconds):.2f}s max {max(seconds):.2f}s; lost {len(result.lost)}, "
        f"duplicated {result.duplicated}"
    )


async def _knock(base_url: str, *, until: asyncio.Event) -> tuple[int, list[str]]:
    """Ask a node for `/healthz` through the balancer, on a new connection each time, until `until` is set;
    return how many requests were made and the failures among them. (Not the balancer's own `/lb/healthz`:
    HAProxy's old worker answers that 503 for a moment while it stops, which no proxied request sees.)"""
    failures: list[str] = []
    made = 0
    async with httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_keepalive_connections=0)) as http:
        while not until.is_set() or made == 0:
            made += 1
            try:
                (await http.get("/healthz", timeout=5)).raise_for_status()
            except httpx.HTTPError as error:
                failures.append(repr(error))
    return made, failures
