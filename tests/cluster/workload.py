"""The chat the cluster tests drive: users in overlapping group rooms, every user sending in each of its rooms
through the load balancer, then a tally of the store's history against what every client acked and holds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.cluster.client import ChatClient
from tests.cluster.deployment import Account, Deployment

SETTLE_TIMEOUT = 30.0
History = dict[str, list[dict[str, Any]]]  # room id -> every message, in seq order


@dataclass(frozen=True)
class Room:
    id: str
    members: tuple[Account, ...]


def overlapping(users: int, *, size: int, step: int) -> list[list[int]]:
    """Rooms of `size` consecutive users (wrapping round), each starting `step` users after the previous one:
    50 users, size 10, step 2 make 25 rooms, every user in 5 of them, so rooms span nodes and users share rooms."""
    return [[(start + i) % users for i in range(size)] for start in range(0, users, step)]


async def make_rooms(deployment: Deployment, accounts: Sequence[Account], shape: list[list[int]]) -> list[Room]:
    members = [tuple(accounts[i] for i in indexes) for indexes in shape]
    ids = await asyncio.gather(*(deployment.create_room(group[0], group) for group in members))
    return [Room(id=room_id, members=group) for room_id, group in zip(ids, members, strict=True)]


async def connect(ws_url: str, accounts: Sequence[Account], rooms: Sequence[Room]) -> list[ChatClient]:
    """One client per account, each holding the rooms it belongs to, all connected at once."""
    clients = [ChatClient(a.id, a.token, ws_url, [r.id for r in rooms if a in r.members]) for a in accounts]
    await asyncio.gather(*(client.start() for client in clients))
    return clients


async def chat(clients: Sequence[ChatClient], *, per_client: int, window: int, pause: float = 0.0) -> None:
    """Each client sends `per_client` messages, round robin over its rooms, with at most `window` unacked,
    waiting `pause` between sends; returns when every one is acked."""

    async def one(client: ChatClient) -> None:
        slots = asyncio.Semaphore(window)
        rooms = list(client.view)

        async def send(n: int) -> None:
            try:
                await client.send(rooms[n % len(rooms)], f"{client.user_id} #{n}")
            finally:
                slots.release()

        sends = []
        for n in range(per_client):
            await slots.acquire()
            sends.append(asyncio.create_task(send(n)))
            await asyncio.sleep(pause)
        await asyncio.gather(*sends)

    await asyncio.gather(*(one(client) for client in clients))


async def settle(deployment: Deployment, clients: Sequence[ChatClient], rooms: Sequence[Room]) -> History:
    """Read every room's history, then wait until every client holds all of it, with no help beyond what the
    protocol gives it (live frames, and `sync` on a gap or a reconnect); return the history."""
    stored = await history(deployment, rooms)

    def missing() -> list[str]:
        return [
            f"{client.user_id} {room_id}: {len(held)}/{len(stored[room_id])}"
            for client in clients
            for room_id, held in client.view.items()
            if len(held) < len(stored[room_id])
        ]

    try:
        await until(lambda: not missing(), "every client holds every message")
    except AssertionError as error:
        raise AssertionError(f"{error}; still missing: {missing()[:5]}") from None
    return stored


@dataclass
class Tally:
    """The store's history against what clients acked and hold. Every count but `acked` and `stored` must be 0."""

    acked: int = 0
    stored: int = 0
    lost: list[str] = field(default_factory=list)  # acked client_msg_ids the history lacks
    seq_gaps: list[str] = field(default_factory=list)  # rooms whose seqs are not exactly 1..n
    duplicated_seq: int = 0
    duplicated_client_msg_id: int = 0
    stale_views: list[str] = field(default_factory=list)  # client rooms that differ from the history
    live_duplicates: int = 0  # the same message arriving twice as a live frame on one connection

    @property
    def duplicated(self) -> int:
        return self.duplicated_seq + self.duplicated_client_msg_id + self.live_duplicates


async def history(deployment: Deployment, rooms: Sequence[Room]) -> History:
    pages = await asyncio.gather(*(deployment.history(room.members[0], room.id) for room in rooms))
    return {room.id: page for room, page in zip(rooms, pages, strict=True)}


def tally(stored: History, clients: Sequence[ChatClient]) -> Tally:
    result = Tally(stored=sum(map(len, stored.values())))
    every_message = [m for messages in stored.values() for m in messages]
    result.duplicated_client_msg_id = _repeats(m["client_msg_id"] for m in every_message)
    for room_id, messages in stored.items():
        seqs = [m["seq"] for m in messages]
        result.duplicated_seq += _repeats(seqs)
        if seqs != list(range(1, len(seqs) + 1)):
            result.seq_gaps.append(room_id)
    held = {m["client_msg_id"] for m in every_message}
    for client in clients:
        result.acked += len(client.acked)
        result.lost.extend(c for c in client.acked if c not in held)
        result.live_duplicates += sum(_repeats((m["room_id"], m["seq"]) for m in c.live) for c in client.connections)
        result.stale_views.extend(
            f"{client.user_id} {room_id}"
            for room_id, view in client.view.items()
            if _ids(view) != _ids(stored[room_id])
        )
    return result


def live_seqs(client: ChatClient, room_id: str) -> list[int]:
    """The seqs of a room's live `message` frames on the client's first connection, in arrival order."""
    return [m["seq"] for m in client.connections[0].live if m["room_id"] == room_id]


async def until(condition: Callable[[], bool], what: str, timeout: float = SETTLE_TIMEOUT) -> float:
    """Wait until `condition()` holds; return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def not_live_once(clients: Sequence[ChatClient], stored: History) -> list[tuple[str, str]]:
    """Member rooms whose messages did not each arrive exactly once as a live frame on the client's first
    connection."""
    return [
        (client.user_id, room_id)
        for client in clients
        for room_id in client.view
        if sorted(live_seqs(client, room_id)) != [m["seq"] for m in stored[room_id]]
    ]


def out_of_order(clients: Sequence[ChatClient]) -> list[tuple[str, str, list[int]]]:
    """Member rooms whose live frames on the client's first connection did not arrive in seq order."""
    return [
        (client.user_id, room_id, seqs)
        for client in clients
        for room_id in client.view
        if (seqs := live_seqs(client, room_id)) != sorted(seqs)
    ]


def _repeats(values: Any) -> int:
    return sum(count - 1 for count in Counter(values).values())


def _ids(messages: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(m["seq"], m["id"]) for m in messages]
