"""Outages under running nodes: Redis or the database stops (or hangs, or refuses sessions) and comes back on
the same port.

While a dependency is down every node's `/readyz` names it. Redis down: sends still succeed, promptly, since
the store is the truth and a lost event only costs a `sync`. Database down: sends are refused with
`unavailable`, never a 500 or a dropped connection. Once the server is back the nodes recover by themselves,
and no acked message is lost: history is gap-free and every client holds every acked message after a `sync`."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Account, Connector, Nodes, cluster_env, create_group, history, register, scrape
from tests.support import databases
from tests.support.instances import (
    MariaDbInstance,
    PostgresInstance,
    mariadb_instance,
    postgres_instance,
    redis_instance,
)
from tests.support.servers import ServerProcess, migrate
from tests.support.wsclient import Frame, WsClient, send_frame

pytestmark = pytest.mark.cluster

# How long nodes may take to notice an outage, or to recover once the server is back.
NOTICE_SECONDS = 10.0
RECOVERY_SECONDS = 10.0
# How long a send may take while a dependency the send does not need (the bus) hangs.
SEND_SECONDS = 10.0
# How long a probe waits for its live delivery to the other node before the next probe is sent.
PROBE_SECONDS = 0.5


@contextlib.contextmanager
def running(env: dict[str, str], log_dir: Path, count: int = 2) -> Iterator[list[ServerProcess]]:
    """`count` nodes, stopped on leaving, so they always stop before the servers they depend on."""
    nodes = Nodes(log_dir)
    try:
        yield nodes.start(env, count=count)
    finally:
        nodes.stop_all()


async def wait_for_readiness(http: httpx.AsyncClient, node: ServerProcess, status: int, timeout: float) -> Frame:
    """Poll `/readyz` until it answers `status`; return that answer. Any answer but 200 or 503 fails."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await http.get(f"{node.base_url}/readyz")
        assert answer.status_code in (200, 503), f"/readyz answered {answer.status_code}: {answer.text}"
        if answer.status_code == status:
            body: Frame = answer.json()
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz still answers {answer.status_code} after {timeout}s: {answer.text}")
        await asyncio.sleep(0.05)


async def seconds_until_ready(http: httpx.AsyncClient, nodes: list[ServerProcess], since: float) -> float:
    """Seconds from `since` until every node's `/readyz` answered 200."""
    for node in nodes:
        await wait_for_readiness(http, node, 200, RECOVERY_SECONDS)
    return time.monotonic() - since


def assert_names_only(body: Frame, down: str, up: str) -> None:
    assert body["error"]["code"] == "unavailable" and down in body["error"]["detail"], body
    assert body["checks"][up] == "ok" and body["checks"][down] != "ok", body


async def chat(one: WsClient, other: WsClient, room_id: str, label: str) -> list[Frame]:
    """`one` and `other` (on different nodes) each send a message that the other receives live."""
    sent = []
    for sender, receiver in ((one, other), (other, one)):
        sent.append(await sender.send_message(room_id, f"{label}: live to the other node"))
        await receiver.wait_for_type("message", message=sent[-1])
    return sent


async def probe_until_delivered(one: WsClient, other: WsClient, room_id: str) -> list[Frame]:
    """Send a message each way until one crosses between the nodes live in both directions; every probe
    is acked and returned, delivered or not."""
    probes: list[Frame] = []
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        pair = [await sender.send_message(room_id, "probe") for sender in (one, other)]
        probes.extend(pair)
        with contextlib.suppress(AssertionError):
            await other.wait_for_type("message", PROBE_SECONDS, message=pair[0])
            await one.wait_for_type("message", PROBE_SECONDS, message=pair[1])
            return probes
    raise AssertionError(f"no live delivery between the nodes within {RECOVERY_SECONDS}s of the restart")


async def send_over_rest(
    http: httpx.AsyncClient, node: ServerProcess, account: Account, room_id: str, timeout: float = 30.0
) -> httpx.Response:
    return await http.post(
        f"{node.base_url}/api/v1/rooms/{room_id}/messages", headers=account.headers,
        json={"client_msg_id": uuid.uuid4().hex, "body": "sent over REST"}, timeout=timeout,
    )  # fmt: skip


async def held_after_sync(client: WsClient, room_id: str) -> dict[int, Frame]:
    """What `client` holds once it closed its gaps as a client does: the messages it received live, then a
    `sync` from the end of their unbroken run from seq 1."""
    held = {message["seq"]: message for message in client.messages(room_id)}
    cursor = 0
    while cursor + 1 in held:
        cursor += 1
    for page in await client.sync_all({room_id: cursor}):
        held.update((message["seq"], message) for message in page["messages"])
    return held


async def assert_no_acked_message_lost(
    http: httpx.AsyncClient, node: ServerProcess, reader: Account, room_id: str, acked: list[Frame],
    clients: list[WsClient],
) -> None:  # fmt: skip
    stored = {message["seq"]: message for message in await history(http, node, reader, room_id)}
    assert list(stored) == list(range(1, len(stored) + 1)), "history is gap-free"
    assert {message["seq"]: message for message in acked} == stored, "history is exactly the acked messages"
    for client in clients:
        assert await held_after_sync(client, room_id) == stored


async def test_a_redis_restart_loses_no_acked_message(
    postgres_template: None, tmp_path: Path, http: httpx.AsyncClient, connect: Connector, report: list[str]
) -> None:
    env = {"PARLEY_DATABASE_URL": await databases.new_postgres()}
    with redis_instance() as cache, running({**env, "PARLEY_BUS_URL": cache.url}, tmp_path) as nodes:
        node1, node2 = nodes
        alice, bob = await register(http, nodes, 2)
        room_id = await create_group(http, node1, alice, [bob])
        alice1, bob2 = await connect(node1, alice), await connect(node2, bob)
        acked = await chat(alice1, bob2, room_id, "before")

        cache.stop()
        for node in nodes:
            assert_names_only(await wait_for_readiness(http, node, 503, NOTICE_SECONDS), down="bus", up="store")
        failures = [(await scrape(http, node))["parley_bus_failures_total"] for node in nodes]
        # Two sends on each node, each an event its bus fails to publish.
        acked += await alice1.send_messages(room_id, ["redis is down 1", "redis is down 2"])
        acked += await bob2.send_messages(room_id, ["redis is down 3"])
        answer = await send_over_rest(http, node2, alice, room_id)
        assert answer.status_code == 201, answer.text
        acked.append(answer.json())
        for node, before in zip(nodes, failures, strict=True):
            assert (await scrape(http, node))["parley_bus_failures_total"] >= before + 2

        cache.start()
        restarted = time.monotonic()
        ready_after = await seconds_until_ready(http, nodes, restarted)
        acked += await probe_until_delivered(alice1, bob2, room_id)
        report.append(
            f"Redis restart: /readyz 200 on every node {ready_after:.2f}s after Redis was back,"
            f" live delivery across nodes after {time.monotonic() - restarted:.2f}s"
        )
        acked += await chat(alice1, bob2, room_id, "after")

        await assert_no_acked_message_lost(http, node1, alice, room_id, acked, [alice1, bob2])


async def test_a_redis_that_stops_answering_does_not_hold_up_sends(
    postgres_template: None, tmp_path: Path, http: httpx.AsyncClient, connect: Connector
) -> None:
    env = {"PARLEY_DATABASE_URL": await databases.new_postgres()}
    with redis_instance() as cache, running({**env, "PARLEY_BUS_URL": cache.url}, tmp_path, count=1) as (node,):
        alice, bob = await register(http, [node], 2)
        room_id = await create_group(http, node, alice, [bob])
        alice_ws = await connect(node, alice)
        acked = [await alice_ws.send_message(room_id, "before")]

        cache.freeze()
        try:
            assert_names_only(await wait_for_readiness(http, node, 503, NOTICE_SECONDS), down="bus", up="store")
            acked += await alice_ws.send_messages(room_id, ["redis hangs 1", "redis hangs 2"], timeout=SEND_SECONDS)
            try:
                answer = await send_over_rest(http, node, bob, room_id, timeout=SEND_SECONDS)
            except httpx.TimeoutException:
                pytest.fail(f"a send over REST got no answer within {SEND_SECONDS}s while Redis hangs")
            assert answer.status_code == 201, answer.text
            acked.append(answer.json())
        finally:
            cache.thaw()

        await wait_for_readiness(http, node, 200, RECOVERY_SECONDS)
        acked.append(await alice_ws.send_message(room_id, "after"))
        assert await history(http, node, alice, room_id) == acked


@pytest.fixture(params=["postgresql", "mariadb"])
def database_server(request: pytest.FixtureRequest) -> Iterator[PostgresInstance | MariaDbInstance]:
    """A private database server, started and holding an empty database `parley`."""
    with postgres_instance() if request.param == "postgresql" else mariadb_instance() as server:
        yield server


async def test_a_database_restart_loses_no_acked_message(
    database_server: PostgresInstance | MariaDbInstance, tmp_path: Path, http: httpx.AsyncClient,
    connect: Connector, report: list[str],
) -> None:  # fmt: skip
    database_url = database_server.url("parley")
    migrate({"PARLEY_DATABASE_URL": database_url})
    with running(cluster_env(database_url), tmp_path) as nodes:
        node1, node2 = nodes
        alice, bob = await register(http, nodes, 2)
        room_id = await create_group(http, node1, alice, [bob])
        alice1, bob2 = await connect(node1, alice), await connect(node2, bob)
        acked = await chat(alice1, bob2, room_id, "before")

        database_server.stop()
        for node in nodes:
            assert_names_only(await wait_for_readiness(http, node, 503, NOTICE_SECONDS), down="store", up="bus")
        refused = await alice1.request(send_frame(room_id, "the database is down", client_msg_id="retried"))
        assert (refused["type"], refused["code"]) == ("error", "unavailable"), refused
        assert (await alice1.ping())["type"] == "pong", "the connection stays open"
        answer = await send_over_rest(http, node2, bob, room_id)
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "unavailable", answer.text

        database_server.start()
        restarted = time.monotonic()
        ready_after = await seconds_until_ready(http, nodes, restarted)
        report.append(f"{database_server.name} restart: /readyz 200 on every node {ready_after:.2f}s after it was back")
        acked.append(await alice1.send_message(room_id, "the database is down", client_msg_id="retried"))
        answer = await send_over_rest(http, node2, bob, room_id)
        assert answer.status_code == 201, answer.text
        acked.append(answer.json())
        await alice1.wait_for_type("message", message=acked[-1])
        acked += await chat(alice1, bob2, room_id, "after")

        await assert_no_acked_message_lost(http, node2, bob, room_id, acked, [alice1, bob2])


async def test_a_postgresql_server_refusing_sessions_is_unavailable_not_a_failure(
    tmp_path: Path, http: httpx.AsyncClient, connect: Connector
) -> None:
    """PostgreSQL refuses sessions with SQLSTATE 57P03 while it starts up, shuts down or recovers, a moment
    every restart passes through; a node must answer that as it answers a stopped server."""
    with postgres_instance() as database_server:
        database_url = database_server.url("parley")
        migrate({"PARLEY_DATABASE_URL": database_url})
        with running(cluster_env(database_url), tmp_path, count=1) as (node,):
            alice, bob = await register(http, [node], 2)
            room_id = await create_group(http, node, alice, [bob])
            alice_ws = await connect(node, alice)
            acked = [await alice_ws.send_message(room_id, "before")]

            database_server.stop()
            database_server.start(accepting=False)
            assert_names_only(await wait_for_readiness(http, node, 503, NOTICE_SECONDS), down="store", up="bus")
            refused = await alice_ws.request(send_frame(room_id, "not accepting", client_msg_id="retried"))
            assert (refused["type"], refused["code"]) == ("error", "unavailable"), refused
            answer = await send_over_rest(http, node, bob, room_id)
            assert answer.status_code == 503 and answer.json()["error"]["code"] == "unavailable", answer.text

            database_server.stop()
            database_server.start()
            await wait_for_readiness(http, node, 200, RECOVERY_SECONDS)
            acked.append(await alice_ws.send_message(room_id, "not accepting", client_msg_id="retried"))
            assert await history(http, node, alice, room_id) == acked
