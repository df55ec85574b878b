"""Parley users and rooms for the benchmark, set up and checked through the REST API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

PASSWORD = "bench-password-0123456789"
REST_CONCURRENCY = 8
PAGE_LIMIT = 200

T = TypeVar("T")
R = TypeVar("R")


class SetupError(RuntimeError):
    """The server answered a set-up or check request with an unexpected status."""


@dataclass(frozen=True)
class Account:
    username: str
    user_id: str
    token: str


@dataclass(frozen=True)
class Room:
    id: str
    owner: Account
    members: list[Account]


@dataclass(frozen=True)
class StoredRoom:
    ids: set[str]
    gap_free: bool


def rest_client(base_url: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=REST_CONCURRENCY)
    return httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=60.0, limits=limits)


async def register_users(client: httpx.AsyncClient, count: int) -> list[Account]:
    async def register(index: int) -> Account:
        username = f"bench{index:05d}"
        body = await _request(client, "POST", "/auth/register", json={"username": username, "password": PASSWORD})
        return Account(username=username, user_id=body["user"]["id"], token=body["token"])

    return await _bounded(register, range(count))


async def create_rooms(client: httpx.AsyncClient, accounts: list[Account], room_size: int) -> list[Room]:
    groups = [accounts[i : i + room_size] for i in range(0, len(accounts), room_size)]

    async def create(group: list[Account]) -> Room:
        owner = group[0]
        payload = {
            "kind": "group",
            "name": f"bench room {owner.username}",
            "members": [a.username for a in group[1:]],
        }
        body = await _request(client, "POST", "/rooms", json=payload, token=owner.token)
        if len(body["members"]) != len(group):
            raise SetupError(f"room {body['id']} has {len(body['members'])} members, expected {len(group)}")
        return Room(id=body["id"], owner=owner, members=group)

    return await _bounded(create, groups)


async def stored_messages(client: httpx.AsyncClient, rooms: list[Room]) -> dict[str, StoredRoom]:
    """Page through every room's history: the ids stored, and whether seq runs 1..n without a gap."""

    async def count(room: Room) -> tuple[str, StoredRoom]:
        seqs: list[int] = []
        ids: set[str] = set()
        has_more = True
        while has_more:
            params = {"after_seq": seqs[-1] if seqs else 0, "limit": PAGE_LIMIT}
            page = await _request(client, "GET", f"/rooms/{room.id}/messages", params=params, token=room.owner.token)
            seqs.extend(message["seq"] for message in page["messages"])
            ids.update(message["id"] for message in page["messages"])
            has_more = bool(page["has_more"]) and bool(page["messages"])
        return room.id, StoredRoom(ids=ids, gap_free=seqs == list(range(1, len(seqs) + 1)))

    return dict(await _bounded(count, rooms))


async def _request(
    client: httpx.AsyncClient, method: str, path: str, *, token: str | None = None, **kwargs: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.request(method, path, headers=headers, **kwargs)
    if not response.is_success:
        raise SetupError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
    return response.json()


async def _bounded(work: Callable[[T], Awaitable[R]], items: Iterable[T]) -> list[R]:
    gate = asyncio.Semaphore(REST_CONCURRENCY)

    async def one(item: T) -> R:
        async with gate:
            return await work(item)

    return await asyncio.gather(*(one(item) for item in items))
