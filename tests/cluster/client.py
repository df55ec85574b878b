"""A chat client that does what protocol.md asks of every client, so the cluster tests measure what users see.

It keeps, per room, the messages it holds in seq order with no gap (`view`). A live `message` frame that
jumps ahead of that makes it `sync` the gap; one it already holds is ignored. When its socket drops it
reconnects with exponential backoff and jitter, sends `sync` with the last seq it holds per room, and sends
again every `send` not yet acked, with the same `client_msg_id`.

It also records what the tests check and report: every live frame per connection, each drop and how long it
took to reconnect and sync, which sends were in flight when a socket dropped, and which of those the store
already held (the client saw them in a `sync` before their ack)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

Frame = dict[str, Any]
ANSWER_TIMEOUT = 20.0
RECONNECT_DEADLINE = 60.0
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 2.0


class Dropped(Exception):
    """The connection closed before the answer came."""


@dataclass
class Send:
    room_id: str
    client_msg_id: str
    body: str
    acked: asyncio.Future[Frame]
    connection: int = -1  # the connection it was last written on; -1: not written yet


@dataclass(frozen=True)
class Reconnect:
    """One recovery: the socket dropped, `attempts` connections later one opened and its `sync` succeeded."""

    dropped_at: float
    connected_at: float
    synced_at: float
    attempts: int

    @property
    def seconds(self) -> float:
        return self.synced_at - self.dropped_at


@dataclass
class Connection:
    number: int
    ws: ClientConnection
    reader: asyncio.Task[None] | None = None
    live: list[Frame] = field(default_factory=list)  # the `message` frames it received, in arrival order
    closed: str | None = None  # the close code and reason, once closed


class ChatClient:
    def __init__(self, user_id: str, token: str, ws_url: str, room_ids: Iterable[str], *, reconnect: bool = True):
        self.user_id = user_id
        self.token = token
        self.ws_url = ws_url
        self.reconnect = reconnect
        self.view: dict[str, list[Frame]] = {room_id: [] for room_id in room_ids}
        self.ahead: dict[str, dict[int, Frame]] = {room_id: {} for room_id in self.view}
        self.connections: list[Connection] = []
        self.outbox: dict[str, Send] = {}
        self.acked: dict[str, Frame] = {}
        self.errors: list[Frame] = []
        self.presence: dict[str, bool] = {}
        self.reconnects: list[Reconnect] = []
        self.in_flight_at_drop: list[str] = []
        self.stored_before_ack: set[str] = set()
        self.gap_syncs = 0
        self._answers: dict[str, asyncio.Future[Frame]] = {}
        self._ids = itertools.count(1)
        self._ready = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._gap_sync: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"{self.ws_url}?token={self.token}"

    @property
    def current(self) -> Connection:
        return self.connections[-1]

    @property
    def drops(self) -> list[str | None]:
        """How each connection but the latest closed: every one of them dropped under the client."""
        return [connection.closed for connection in self.connections[:-1]]

    async def start(self) -> ChatClient:
        """Connect (the first time must succeed at once) and wait until the node has registered the
        connection: it handles a connection's frames in order, so a `pong` means presence is counted."""
        await self._open(await connect(self.url, **_OPTIONS))
        self._ready.set()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"client-{self.user_id}")
        await self.ping()
        return self

    async def close(self) -> None:
        self._closing = True
        for task in (self._gap_sync, self._supervisor):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.connections:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.current.ws.close(), 5)
                await asyncio.wait_for(self.current.reader, 5)  # type: ignore[arg-type]

    # Requests

    async def send(self, room_id: str, body: str, *, client_msg_id: str | None = None) -> Frame:
        """Send a message and return the stored message from its `ack`, however many reconnects that takes."""
        client_msg_id = client_msg_id or uuid.uuid4().hex
        outgoing = Send(room_id, client_msg_id, body, asyncio.get_running_loop().create_future())
        self.outbox[client_msg_id] = outgoing
        if self._ready.is_set():
            await self._write(outgoing)
        return await outgoing.acked

    async def ping(self) -> Frame:
        return await self._request({"type": "ping"})

    async def sync(self) -> None:
        """`sync` every room from the last seq held until `has_more` is false."""
        async with self._sync_lock:
            while True:
                cursors = {room_id: len(messages) for room_id, messages in self.view.items()}
                answer = await self._request({"type": "sync", "rooms": cursors})
                for message in answer["messages"]:
                    self._hold(message)
                if not answer["has_more"]:
                    return

    async def _write(self, outgoing: Send) -> None:
        connection = self.current
        outgoing.connection = connection.number
        frame = {"type": "send", "id": outgoing.client_msg_id, "room_id": outgoing.room_id,
                 "client_msg_id": outgoing.client_msg_id, "body": outgoing.body}  # fmt: skip
        with contextlib.suppress(ConnectionClosed):
            await connection.ws.send(orjson.dumps(frame).decode())

    async def _request(self, frame: Frame) -> Frame:
        request_id = f"q{next(self._ids)}"
        answer = asyncio.get_running_loop().create_future()
        self._answers[request_id] = answer
        try:
            await self.current.ws.send(orjson.dumps({**frame, "id": request_id}).decode())
        except ConnectionClosed as error:
            self._answers.pop(request_id, None)
            raise Dropped from error
        result: Frame = await asyncio.wait_for(answer, ANSWER_TIMEOUT)
        if result["type"] == "error":
            raise AssertionError(f"{frame['type']} was answered with {result}")
        return result

    # Frames

    async def _read(self, connection: Connection) -> None:
        try:
            async for raw in connection.ws:
                self._on_frame(orjson.loads(raw), connection)
        except ConnectionClosed:
            pass
        finally:
            connection.closed = f"{connection.ws.close_code} {connection.ws.close_reason or ''}".strip()
            self._ready.clear()
            for answer in self._answers.values():
                if not answer.done():
                    answer.set_exception(Dropped())
            self._answers.clear()

    def _on_frame(self, frame: Frame, connection: Connection) -> None:
        kind = frame["type"]
        if kind == "message":
            connection.live.append(frame["message"])
            self._hold(frame["message"])
        elif kind == "ack":
            self._acked(frame["message"])
        elif kind == "presence":
            self.presence[frame["user"]] = frame["online"]
        elif kind == "error" and frame.get("id") in self.outbox:
            self.errors.append(frame)
            self.outbox.pop(frame["id"]).acked.set_exception(AssertionError(f"send was answered with {frame}"))
        elif (answer := self._answers.pop(str(frame.get("id")), None)) is not None and not answer.done():
            answer.set_result(frame)
        elif kind == "error":
            self.errors.append(frame)

    def _acked(self, message: Frame) -> None:
        self.acked[message["client_msg_id"]] = message
        outgoing = self.outbox.pop(message["client_msg_id"], None)
        if outgoing is not None and not outgoing.acked.done():
            outgoing.acked.set_result(message)

    def _hold(self, message: Frame) -> None:
        room_id, seq = message["room_id"], message["seq"]
        if message["sender"] == self.user_id and message["client_msg_id"] in self.outbox:
            self.stored_before_ack.add(message["client_msg_id"])
        held, ahead = self.view[room_id], self.ahead[room_id]
        if seq > len(held):
            ahead[seq] = message
        while (following := ahead.pop(len(held) + 1, None)) is not None:
            held.append(following)
        if ahead and (self._gap_sync is None or self._gap_sync.done()):
            self.gap_syncs += 1
            self._gap_sync = asyncio.create_task(self._fill_gaps())

    async def _fill_gaps(self) -> None:
        """A seq jumped: `sync` until no room has a hole (a dropped connection leaves it to the reconnect)."""
        with contextlib.suppress(Dropped):
            while any(self.ahead.values()):
                await self.sync()

    # Connections

    async def _open(self, ws: ClientConnection) -> Connection:
        connection = Connection(number=len(self.connections), ws=ws)
        self.connections.append(connection)
        connection.reader = asyncio.create_task(self._read(connection), name=f"reader-{self.user_id}")
        return connection

    async def _supervise(self) -> None:
        while True:
            await asyncio.shield(self.current.reader)  # type: ignore[arg-type]
            if self._closing or not self.reconnect:
                return
            try:
                await self._recover(dropped_at=time.monotonic())
            except Exception as error:
                for outgoing in self.outbox.values():  # fail the sends waiting on this client, not hang them
                    if not outgoing.acked.done():
                        outgoing.acked.set_exception(error)
                raise

    async def _recover(self, *, dropped_at: float) -> None:
        """Reconnect through the same URL with backoff until a `sync` succeeds, then send every unacked
        message again; sends made meanwhile wait for that."""
        self.in_flight_at_drop.extend(c for c, s in self.outbox.items() if s.connection == self.current.number)
        attempts, delay = 0, BACKOFF_FIRST
        while True:
            attempts += 1
            try:
                await self._open(await connect(self.url, **_OPTIONS))
                connected_at = time.monotonic()
                await self.sync()
                break
            except (OSError, TimeoutError, WebSocketException, Dropped) as error:
                if time.monotonic() - dropped_at > RECONNECT_DEADLINE:
                    raise AssertionError(f"no reconnect in {RECONNECT_DEADLINE}s: {error!r}") from error
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, BACKOFF_MAX)
        self.reconnects.append(Reconnect(dropped_at, connected_at, time.monotonic(), attempts))
        self._ready.set()
        for outgoing in [s for s in self.outbox.values() if s.connection != self.current.number]:
            await self._write(outgoing)


_OPTIONS: dict[str, Any] = {"open_timeout": 5, "ping_interval": None, "max_size": None}
