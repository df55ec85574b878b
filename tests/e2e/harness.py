"""What the end-to-end tests share: nodes started and stopped per test, accounts and rooms made over REST,
WebSocket clients closed after each test, and Prometheus samples read from `/metrics`."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REDIS_URL, bus_prefix
from tests.support.servers import ServerProcess
from tests.support.wsclient import Frame, WsClient

SECRET_KEY = "parley-e2e-secret-key-0123456789abcdefghijklmnop"
BASE_ENV = {
    "PARLEY_ENV": "dev",
    "PARLEY_LOG_LEVEL": "WARNING",
    "PARLEY_SECRET_KEY": SECRET_KEY,
    "PARLEY_MESSAGES_PER_SECOND": "1000",
    "PARLEY_MESSAGE_BURST": "1000",
}
PASSWORD = "correct horse battery staple"
PAGE = 200


def cluster_env(database_url: str) -> dict[str, str]:
    """Settings of nodes sharing `database_url` and Redis, under a bus key prefix of their own."""
    return {"PARLEY_DATABASE_URL": database_url, "PARLEY_BUS_URL": REDIS_URL, "PARLEY_BUS_PREFIX": bus_prefix()}


def sqlite_copy(template: Path, folder: Path) -> str:
    """The URL of a copy of the migrated SQLite `template` in `folder`."""
    path = folder / "parley.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


class Nodes:
    """Starts `parley serve` processes (several at once, in parallel) and stops every one it started."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[ServerProcess] = []

    def start(self, env: dict[str, str], count: int = 1, *, ready: bool = True) -> list[ServerProcess]:
        """`ready=False` waits for `/healthz` only, for nodes meant to run with a dependency down."""
        first = len(self.started)
        servers = [
            ServerProcess(env={**BASE_ENV, **env}, log_path=self.log_dir / f"node{first + i}.log") for i in range(count)
        ]
        self.started.extend(servers)
        ready_path = "/readyz" if ready else "/healthz"
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(lambda server: server.start(ready_path=ready_path), servers))
        return servers

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    display_name: str
    token: str

    @property
    def public(self) -> dict[str, str]:
        """The `user` object the protocol shows for this account."""
        return {"id": self.id, "username": self.username, "display_name": self.display_name}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(http: httpx.AsyncClient, nodes: Sequence[ServerProcess], count: int) -> list[Account]:
    """Register `count` new users at once, spread over `nodes` (argon2 makes each one slow)."""
    urls = [f"{nodes[i % len(nodes)].base_url}/api/v1/auth/register" for i in range(count)]
    answers = await asyncio.gather(
        *(http.post(url, json={"username": f"e2e{uuid.uuid4().hex[:12]}", "password": PASSWORD}) for url in urls)
    )
    accounts = []
    for answer in answers:
        assert answer.status_code == 201, answer.text
        body = answer.json()
        accounts.append(Account(token=body["token"], **body["user"]))
    return accounts


async def create_group(
    http: httpx.AsyncClient, node: ServerProcess, owner: Account, members: Sequence[Account], name: str = "e2e"
) -> str:
    """A group room of `owner` and `members`; returns its id."""
    answer = await http.post(
        f"{node.base_url}/api/v1/rooms", headers=owner.headers,
        json={"kind": "group", "name": name, "members": [m.username for m in members]},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    room_id: str = answer.json()["id"]
    return room_id


async def history(http: httpx.AsyncClient, node: ServerProcess, account: Account, room_id: str) -> list[Frame]:
    """Every message of a room over REST, page by page from seq 0."""
    found: list[Frame] = []
    while True:
        after = found[-1]["seq"] if found else 0
        answer = await http.get(
            f"{node.base_url}/api/v1/rooms/{room_id}/messages", headers=account.headers,
            params={"after_seq": after, "limit": PAGE},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found.extend(page["messages"])
        if not page["has_more"]:
            return found


async def my_rooms(http: httpx.AsyncClient, node: ServerProcess, account: Account) -> dict[str, Frame]:
    answer = await http.get(f"{node.base_url}/api/v1/rooms", headers=account.headers)
    assert answer.status_code == 200, answer.text
    return {room["id"]: room for room in answer.json()}


class Connector:
    """Opens WebSocket clients for a test and closes them after it."""

    def __init__(self) -> None:
        self.opened: list[WsClient] = []

    async def __call__(self, node: ServerProcess, account: Account, **options: Any) -> WsClient:
        """Connect `account` to `node`. A reading client also waits for its first `pong`: the node handles
        a connection's frames in order, so the connection is registered (presence included) by then."""
        client = await WsClient.connect(node.ws_url, account.token, **options)
        self.opened.append(client)
        if options.get("read", True):
            pong = await client.ping()
            assert pong["type"] == "pong", pong
        return client

    async def close_all(self) -> None:
        for client in self.opened:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)


async def scrape(http: httpx.AsyncClient, node: ServerProcess) -> dict[str, float]:
    """Every sample of `/metrics`, keyed `name` or `name{label=value,...}`."""
    answer = await http.get(f"{node.base_url}/metrics")
    assert answer.status_code == 200, answer.text
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


async def wait_for_metric(
    http: httpx.AsyncClient, node: ServerProcess, name: str, condition: Callable[[float], bool], timeout: float = 10.0
) -> float:
    """Poll `/metrics` until the sample `name` (0 while absent) meets `condition`; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = (await scrape(http, node)).get(name, 0.0)
        if condition(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} is still {value} after {timeout}s")
        await asyncio.sleep(0.05)
