"""The in-memory bus: one process, events delivered synchronously."""

from __future__ import annotations

from collections.abc import Iterable

from app.bus.base import Deliver, Event, Lapsed


class MemoryBus:
    def __init__(self, node_id: str = "local") -> None:
        self.node_id = node_id
        self._deliver: Deliver | None = None
        self._online: set[str] = set()

    async def start(self, deliver: Deliver, lapsed: Lapsed | None = None) -> None:
        self._deliver = deliver

    async def publish(self, event: Event) -> None:
        if self._deliver is not None:
            self._deliver(event)

    async def connected(self, user_id: str) -> bool:
        if user_id in self._online:
            return False
        self._online.add(user_id)
        return True

    async def disconnected(self, user_id: str) -> bool:
        if user_id not in self._online:
            return False
        self._online.discard(user_id)
        return True

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return self._online.intersection(user_ids)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._deliver = None
