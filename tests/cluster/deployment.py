"""One test's cluster: `parley serve` nodes on a fresh PostgreSQL database and a Redis key prefix of the test's
own, behind a real load balancer; accounts, rooms and history over REST through that balancer, and each
node's `/metrics` read directly (the balancer refuses /metrics, as in production)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.balancer import Balancer
from tests.conftest import REDIS_URL, bus_prefix
from tests.support.servers import ServerProcess

PASSWORD = "correct horse battery staple"
PAGE = 200
# High rate limits: every test user sends as fast as the cluster answers. A heartbeat of half the default
# makes a dead node's presence lapse sooner, yet leaves clients of a busy 2-core machine time to answer pings
# (a node closes a connection whose pong is late by a heartbeat). A small pool keeps four nodes well inside
# PostgreSQL's max_connections when other test sessions share the server.
NODE_SETTINGS = {
    "PARLEY_ENV": "dev",
    "PARLEY_LOG_LEVEL": "WARNING",
    "PARLEY_SECRET_KEY": "parley-cluster-test-secret-0123456789abcdefghij",
    "PARLEY_MESSAGES_PER_SECOND": "100000",
    "PARLEY_MESSAGE_BURST": "100000",
    "PARLEY_HEARTBEAT_SECONDS": "10",
    "PARLEY_DATABASE_POOL_SIZE": "5",
}


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Deployment:
    def __init__(self, *, database_url: str, lb: str, folder: Path) -> None:
        self.env = {
            **NODE_SETTINGS,
            "PARLEY_DATABASE_URL": database_url,
            "PARLEY_BUS_URL": REDIS_URL,
            "PARLEY_BUS_PREFIX": bus_prefix(),
        }
        self.folder = folder
        self.nodes: list[ServerProcess] = []
        self.balancer = Balancer(lb, folder / "balancer")
        self.http = httpx.AsyncClient(base_url=self.balancer.base_url, timeout=30)

    async def start(self, nodes: int) -> Deployment:
        await self.add_nodes(nodes)
        await asyncio.to_thread(self.balancer.start, self.nodes)
        return self

    async def add_nodes(self, count: int, **settings: str) -> list[ServerProcess]:
        """Start `count` more nodes at once (not yet known to the balancer); `settings` override PARLEY_*."""
        first = len(self.nodes)
        added = [
            ServerProcess(
                env={**self.env, "PARLEY_NODE_ID": f"node{first + i + 1}", **settings},
                log_path=self.folder / f"node{first + i + 1}.log",
            )
            for i in range(count)
        ]
        self.nodes.extend(added)
        await asyncio.gather(*(asyncio.to_thread(node.start) for node in added))
        return added

    def kill(self, node: ServerProcess) -> None:
        """SIGKILL: no goodbye to clients, Redis or the database."""
        node.kill()

    async def stop(self) -> None:
        await self.http.aclose()
        self.balancer.stop()
        await asyncio.gather(*(asyncio.to_thread(node.stop) for node in self.nodes))

    # Metrics

    async def metric(self, node: ServerProcess, name: str) -> float:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(f"{node.base_url}/metrics")
        answer.raise_for_status()
        samples = (s for family in text_string_to_metric_families(answer.text) for s in family.samples)
        return sum(sample.value for sample in samples if sample.name == name)

    async def connections(self, nodes: Sequence[ServerProcess] | None = None) -> list[int]:
        """`parley_connections` of each node (every node unless given)."""
        chosen = self.nodes if nodes is None else nodes
        return [int(v) for v in await asyncio.gather(*(self.metric(n, "parley_connections") for n in chosen))]

    # REST through the balancer

    async def register(self, count: int) -> list[Account]:
        """`count` new accounts, registered concurrently (argon2 makes each one slow)."""
        answers = await asyncio.gather(
            *(
                self.http.post(
                    "/api/v1/auth/register", json={"username": f"c{uuid.uuid4().hex[:12]}", "password": PASSWORD}
                )
                for _ in range(count)
            )
        )
        accounts = []
        for answer in answers:
            assert answer.status_code == 201, answer.text
            body = answer.json()
            accounts.append(Account(id=body["user"]["id"], username=body["user"]["username"], token=body["token"]))
        return accounts

    async def create_room(self, owner: Account, members: Sequence[Account]) -> str:
        answer = await self.http.post(
            "/api/v1/rooms",
            headers=owner.headers,
            json={"kind": "group", "name": "cluster", "members": [m.username for m in members if m != owner]},
        )
        assert answer.status_code == 201, answer.text
        room_id: str = answer.json()["id"]
        return room_id

    async def history(self, account: Account, room_id: str) -> list[dict[str, Any]]:
        """Every message of the room, page by page from seq 0."""
        found: list[dict[str, Any]] = []
        while True:
            answer = await self.http.get(
                f"/api/v1/rooms/{room_id}/messages",
                headers=account.headers,
                params={"after_seq": found[-1]["seq"] if found else 0, "limit": PAGE},
            )
            assert answer.status_code == 200, answer.text
            page = answer.json()
            found.extend(page["messages"])
            if not page["has_more"]:
                return found
