"""WebSocket clients of the load generator, speaking Parley's protocol or the bare server's echo."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State

from bench.recorder import Recorder

BODY_FILLER = "lorem ipsum dolor sit amet, consectetur"
CONNECT_CONCURRENCY = 100
CONNECT_ATTEMPTS = 3
DRAIN_STEP = 0.1


class Kind(Enum):
    DELIVERY = "delivery"
    ACK = "ack"
    ERROR = "error"
    OTHER = "other"


def _parse_parley(frame: dict[str, Any]) -> tuple[Kind, Any]:
    kind = frame.get("type")
    if kind == "message":
        return Kind.DELIVERY, frame["message"]["body"]
    if kind == "ack":
        return Kind.ACK, (frame["message"]["room_id"], frame["message"]["id"])
    if kind == "error":
        return Kind.ERROR, str(frame.get("code"))
    return Kind.OTHER, None


def _parse_bare(frame: dict[str, Any]) -> tuple[Kind, Any]:
    return Kind.DELIVERY, frame["body"]


@dataclass(frozen=True)
class Dialect:
    """How a server answers: Parley acks each send and sends `message` frames; bare echoes the frame."""

    parse: Callable[[dict[str, Any]], tuple[Kind, Any]]
    acks: bool


PARLEY = Dialect(parse=_parse_parley, acks=True)
BARE = Dialect(parse=_parse_bare, acks=False)


@dataclass(frozen=True)
class Endpoint:
    """One connection to open: where, which room its sends go to, and how many connections get each."""

    index: int
    url: str
    room_id: str
    fanout: int


class Client:
    def __init__(self, endpoint: Endpoint, ws: ClientConnection, fleet: Fleet) -> None:
        self.endpoint = endpoint
        self.ws = ws
        self.fleet = fleet
        self.counter = 0

    async def send(self) -> None:
        self.counter += 1
        now = time.monotonic_ns()
        index = self.endpoint.index
        frame = {
            "type": "send",
            "id": str(self.counter),
            "room_id": self.endpoint.room_id,
            "client_msg_id": f"bench-{index}-{self.counter}",
            "body": f"{now}:{index}:{BODY_FILLER}",
        }
        recorder = self.fleet.recorder
        recorder.sent(now, self.endpoint.fanout)
        try:
            await self.ws.send(orjson.dumps(frame).decode())
        except ConnectionClosed:
            recorder.send_failed(self.endpoint.fanout)

    async def receive(self) -> None:
        try:
            async for raw in self.ws:
                await self._handle(time.monotonic_ns(), orjson.loads(raw))
        except ConnectionClosed:
            pass
        if not self.fleet.closing:
            self.fleet.recorder.closed(self.ws.close_code)

    async def _handle(self, now: int, frame: dict[str, Any]) -> None:
        kind, value = self.fleet.dialect.parse(frame)
        recorder = self.fleet.recorder
        if kind is Kind.DELIVERY:
            sent_ns, sender, _ = value.split(":", 2)
            recorder.delivered(now, int(sent_ns))
            if int(sender) == self.endpoint.index:
                await self._echoed()
        elif kind is Kind.ACK:
            recorder.acked(now, *value)
        elif kind is Kind.ERROR:
            recorder.error(value, self.endpoint.fanout)
        if self.fleet.draining and self.fleet.settled():
            self.fleet.settled_event.set()

    async def _echoed(self) -> None:
        if not self.fleet.dialect.acks:
            self.fleet.recorder.echoed()
        if self.fleet.closed_loop:
            await self.send()


class Fleet:
    """All connections of one scenario, sharing one recorder."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.recorder = Recorder()
        self.clients: list[Client] = []
        self.closed_loop = False
        self.closing = False
        self.compressed = False
        self.refused = 0
        self.draining = False
        self.settled_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self, endpoints: list[Endpoint], *, compression: bool) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        connected = await asyncio.gather(*(self._connect(e, gate, compression) for e in endpoints))
        clients = [client for client in connected if client is not None]
        self.refused = len(endpoints) - len(clients)
        self.clients.extend(clients)
        self._tasks.extend(asyncio.create_task(client.receive()) for client in clients)
        response = clients[0].ws.response if clients else None
        extensions = response.headers.get("Sec-WebSocket-Extensions", "") if response else ""
        self.compressed = "permessage-deflate" in extensions

    async def _connect(self, endpoint: Endpoint, gate: asyncio.Semaphore, compression: bool) -> Client | None:
        async with gate:
            for attempt in range(1, CONNECT_ATTEMPTS):
                try:
                    return await self._connect_once(endpoint, compression)
                except (OSError, TimeoutError):
                    await asyncio.sleep(0.5 * attempt)
            return await self._connect_once(endpoint, compression)

    async def _connect_once(self, endpoint: Endpoint, compression: bool) -> Client | None:
        try:
            ws = await connect(
                endpoint.url,
                compression="deflate" if compression else None,
                ping_interval=None,
                open_timeout=30,
                max_size=None,
            )
        except InvalidHandshake:
            return None  # the server refused the handshake: counted in `refused`, reported as a problem
        return Client(endpoint, ws, self)

    def open_connections(self) -> int:
        return sum(1 for client in self.clients if client.ws.state is State.OPEN)

    def settled(self) -> bool:
        recorder = self.recorder
        return recorder.outstanding() <= 0 and recorder.deliveries >= recorder.expected_deliveries

    async def drain(self, *, stall: float, limit: float) -> str:
        """Wait until every send is answered and delivered. Gives up when nothing arrives for `stall`
        seconds ("stalled": the server dropped something) or after `limit` seconds while answers still
        arrive ("backlogged": the server is behind). Returns "settled", "stalled" or "backlogged"."""
        loop = asyncio.get_running_loop()
        started = quiet_since = loop.time()
        self.draining = True
        try:
            while not self.settled():
                progress = self.recorder.progress()
                await self._wait_settled(DRAIN_STEP)
                now = loop.time()
                if self.recorder.progress() != progress:
                    quiet_since = now
                if now - quiet_since > stall:
                    return "stalled"
                if now - started > limit:
                    return "backlogged"
        finally:
            self.draining = False
        return "settled"

    async def _wait_settled(self, seconds: float) -> None:
        self.settled_event.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.settled_event.wait()

    async def close(self) -> None:
        self.closing = True
        await asyncio.gather(*(client.ws.close() for client in self.clients), return_exceptions=True)
        await asyncio.gather(*self._tasks, return_exceptions=True)
