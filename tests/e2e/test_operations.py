"""Operations over real processes: `/readyz` names the dependency that is down (the node still serves its
own connections), and `/metrics` counts connections, messages and fan-out as traffic flows."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Connector, Nodes, create_group, register, scrape, sqlite_copy, wait_for_metric
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


async def test_readyz_names_the_bus_when_redis_is_unreachable(
    nodes: Nodes, sqlite_template: Path, tmp_path: Path, http: httpx.AsyncClient, connect: Connector
) -> None:
    env = {"PARLEY_DATABASE_URL": sqlite_copy(sqlite_template, tmp_path), "PARLEY_BUS_URL": CLOSED_PORT_REDIS}
    (node,) = nodes.start(env, ready=False)

    answer = await http.get(f"{node.base_url}/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["error"]["code"] == "unavailable" and "bus" in body["error"]["detail"]
    assert body["checks"]["store"] == "ok" and body["checks"]["bus"] != "ok"
    assert (await http.get(f"{node.base_url}/healthz")).status_code == 200

    # The bus is best effort: members connected to this node still get messages, and the failure is counted.
    alice, bob = await register(http, [node], 2)
    room_id = await create_group(http, node, alice, [bob])
    alice_ws, bob_ws = await connect(node, alice), await connect(node, bob)
    sent = await alice_ws.send_message(room_id, "local delivery needs no bus")
    await bob_ws.wait_for_type("message", message=sent)
    assert (await scrape(http, node))["parley_bus_failures_total"] >= 1


async def test_metrics_move_with_traffic(node: ServerProcess, http: httpx.AsyncClient, connect: Connector) -> None:
    before = await scrape(http, node)
    alice, bob = await register(http, [node], 2)
    room_id = await create_group(http, node, alice, [bob])
    alice_ws, bob_ws = await connect(node, alice), await connect(node, bob)
    assert (await scrape(http, node))["parley_connections"] == before["parley_connections"] + 2

    await alice_ws.send_messages(room_id, [f"counted {i}" for i in range(5)])
    await bob_ws.wait_until(lambda: len(bob_ws.messages(room_id)) == 5)
    after = await scrape(http, node)

    def moved(name: str) -> float:
        return after[name] - before.get(name, 0.0)

    assert moved("parley_messages_sent_total") == 5
    assert moved("parley_messages_delivered_total") == 10, "5 messages to 2 connections"
    assert moved("parley_fanout_seconds_count") == 5
    assert moved("parley_fanout_seconds_bucket{le=+Inf}") == 5
    assert after["parley_fanout_seconds_sum"] >= before.get("parley_fanout_seconds_sum", 0.0)
    await alice_ws.close()
    await bob_ws.close()
    await wait_for_metric(http, node, "parley_connections", lambda n: n == before["parley_connections"])
