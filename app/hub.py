"""This node's live connections, and delivery of bus events to them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from app.bus.base import Event
from app.domain import User
from app.metrics import Metrics

log = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 4408
CLOSE_UNAUTHORIZED = 4401
CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013  # the store is unreachable: reconnect with backoff


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Connection:
    """One WebSocket: frames queue here (bounded) and one writer task sends them in order.

    A consumer that cannot keep up fills its queue; it is then closed with 4408 rather than let it hold
    memory or slow the fan-out for everyone else. It reconnects and syncs from the store."""

    __slots__ = ("_closing", "_queue", "_writer", "metrics", "socket", "user")

    def __init__(self, socket: Socket, user: User, *, queue_size: int, metrics: Metrics) -> None:
        self.socket = socket
        self.user = user
        self.metrics = metrics
        self._queue: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{user.id}")
        self._closing = False

    def push(self, frame: str) -> bool:
        if self._closing:
            return False
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.metrics.slow_consumers.inc()
            log.info("closing slow consumer", extra={"user_id": self.user.id})
            self.close_soon(CLOSE_SLOW_CONSUMER, "too slow to keep up; reconnect and sync")
            return False
        return True

    async def _write(self) -> None:
        while True:
            frame = await self._queue.get()
            await self.socket.send_text(frame)

    def close_soon(self, code: int, reason: str) -> None:
        if not self._closing:
            self._closing = True
            asyncio.get_running_loop().create_task(self.close(code, reason))

    async def close(self, code: int, reason: str) -> None:
        self._closing = True
        await self.stop_writer()
        with contextlib.suppress(Exception):
            await self.socket.close(code, reason)

    async def stop_writer(self) -> None:
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._writer


class Hub:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._by_user: dict[str, set[Connection]] = {}

    def add(self, connection: Connection) -> bool:
        """Register; True if it is this node's first connection for the user."""
        conns = self._by_user.setdefault(connection.user.id, set())
        conns.add(connection)
        self.metrics.connections.inc()
        return len(conns) == 1

    def remove(self, connection: Connection) -> bool:
        """Unregister; True if it was this node's last connection for the user."""
        conns = self._by_user.get(connection.user.id)
        if conns is None or connection not in conns:
            return False
        conns.discard(connection)
        self.metrics.connections.dec()
        if conns:
            return False
        del self._by_user[connection.user.id]
        return True

    def deliver(self, event: Event) -> None:
        delivered = 0
        for user_id in event.user_ids:
            for connection in self._by_user.get(user_id, ()):
                delivered += connection.push(event.frame)
        if event.kind == "message" and delivered:
            self.metrics.messages_delivered.inc(delivered)
            self.metrics.fanout_seconds.observe(max(0.0, time.time() - event.sent_at))

    async def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down") -> None:
        connections = [c for conns in self._by_user.values() for c in conns]
        await asyncio.gather(*(c.close(code, reason) for c in connections), return_exceptions=True)
