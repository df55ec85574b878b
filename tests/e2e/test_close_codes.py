"""The only ways the server ends a connection: a bad or expired token (4401) and a consumer too slow to
keep up (4408). The node keeps serving everyone else."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import jwt
import pytest

from tests.e2e.harness import (
    SECRET_KEY,
    Account,
    Connector,
    Nodes,
    create_group,
    register,
    scrape,
    sqlite_copy,
    wait_for_metric,
)
from tests.support.servers import ServerProcess
from tests.support.wsclient import WsClient

pytestmark = pytest.mark.e2e

BIG_BODY_ENTROPY = 45_000  # random bytes: 60 kB of text that permessage-deflate cannot shrink
SLOW_CONSUMER_ENV = {
    "PARLEY_BUS_URL": "memory://",
    "PARLEY_SEND_QUEUE_SIZE": "8",
    "PARLEY_MAX_BODY_BYTES": "65536",
    "PARLEY_MAX_FRAME_BYTES": "131072",
}


def token_for(account: Account, *, expires_at: int, secret: str = SECRET_KEY) -> str:
    claims = {"sub": account.id, "usr": account.username, "dn": account.display_name,
              "iat": int(time.time()), "exp": expires_at}  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")


async def test_a_bad_or_missing_token_is_closed_with_4401(node: ServerProcess, http: httpx.AsyncClient) -> None:
    (alice,) = await register(http, [node], 1)
    hour = int(time.time()) + 3600
    bad_tokens = {
        "garbage": "not-a-token",
        "wrong secret": token_for(alice, expires_at=hour, secret="another-secret-0123456789abcdefghijklmn"),
        "expired": token_for(alice, expires_at=int(time.time()) - 10),
        "missing": None,
    }
    for name, token in bad_tokens.items():
        client = await WsClient.connect(node.ws_url, token)
        assert await client.wait_closed() == 4401, name
        assert client.frames == [], name
    good = await WsClient.connect(node.ws_url, token_for(alice, expires_at=hour))
    assert (await good.ping())["type"] == "pong"
    await good.close()


async def test_a_token_that_expires_while_connected_is_closed_with_4401(
    node: ServerProcess, http: httpx.AsyncClient
) -> None:
    (alice,) = await register(http, [node], 1)
    expires_at = int(time.time()) + 3
    client = await WsClient.connect(node.ws_url, token_for(alice, expires_at=expires_at))
    assert (await client.ping())["type"] == "pong"

    assert await client.wait_closed(timeout=15) == 4401
    assert time.time() >= expires_at - 0.5, "closed for expiry, not at once"
    assert client.close_reason == "token expired"


async def test_a_slow_consumer_is_closed_with_4408_and_the_node_carries_on(
    nodes: Nodes, sqlite_template: Path, tmp_path: Path, http: httpx.AsyncClient, connect: Connector
) -> None:
    (node,) = nodes.start({**SLOW_CONSUMER_ENV, "PARLEY_DATABASE_URL": sqlite_copy(sqlite_template, tmp_path)})
    alice, bob, carol = await register(http, [node], 3)
    room_id = await create_group(http, node, alice, [bob, carol])
    slow = await connect(node, bob, read=False, receive_buffer=4096)
    sender, reader = await connect(node, alice), await connect(node, carol)

    sent = await send_until_a_slow_consumer_is_closed(http, node, sender, room_id)

    await reader.wait_until(lambda: len(reader.messages(room_id)) == sent, timeout=30)
    assert (await reader.ping())["type"] == "pong"
    assert await slow.wait_closed(timeout=30) == 4408
    received = [m["seq"] for m in slow.messages(room_id)]
    assert received == list(range(1, len(received) + 1)) and len(received) < sent
    after = await sender.send_message(room_id, "still serving")
    await reader.wait_for_type("message", message=after)
    assert (await http.get(f"{node.base_url}/readyz")).status_code == 200
    assert (await scrape(http, node))["parley_slow_consumers_total"] == 1


async def send_until_a_slow_consumer_is_closed(
    http: httpx.AsyncClient, node: ServerProcess, sender: WsClient, room_id: str
) -> int:
    """Send big messages in batches until the node reports a slow consumer; return how many were sent."""
    sent = 0
    for _ in range(30):
        bodies = [secrets.token_urlsafe(BIG_BODY_ENTROPY) for _ in range(10)]
        sent += len(await sender.send_messages(room_id, bodies, timeout=30))
        if (await scrape(http, node)).get("parley_slow_consumers_total", 0) >= 1:
            return sent
    await wait_for_metric(http, node, "parley_slow_consumers_total", lambda n: n >= 1, timeout=1)
    return sent
