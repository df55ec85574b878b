"""A small asyncio client of Parley's WebSocket protocol (protocol.md), for tests.

A reader task keeps every server frame in arrival order; a test sends frames and then awaits what it needs
(the answer carrying the same `id`, frames of a type, any condition), always with a timeout. A client made
with `read=False` leaves frames unread, so the socket's buffers fill as a slow consumer's would, until
`start_reading()`."""

from __future__ import annotations

import asyncio
import itertools
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]
TIMEOUT = 10.0
PIPELINE = 100


class WsClient:
    def __init__(self, ws: ClientConnection, *, read: bool = True) -> None:
        self.ws = ws
        self.frames: list[Frame] = []
        self._arrived = asyncio.Condition()
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        if read:
            self.start_reading()

    @classmethod
    async def connect(
        cls, ws_url: str, token: str | None, *, read: bool = True, receive_buffer: int | None = None
    ) -> WsClient:
        """Open `ws_url?token=...`. `receive_buffer` shrinks the TCP receive buffer (SO_RCVBUF), so a
        client that stops reading makes the server's writes block after a few frames."""
        url = ws_url if token is None else f"{ws_url}?token={quote(token)}"
        options: dict[str, Any] = {"open_timeout": TIMEOUT, "ping_interval": None, "max_size": None}
        if receive_buffer is not None:
            options["sock"] = await _small_buffer_socket(ws_url, receive_buffer)
            options["max_queue"] = 1
        return cls(await connect(url, **options), read=read)

    def start_reading(self) -> asyncio.Task[None]:
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="wsclient-reader")
        return self._reader

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = _parse(raw)
                async with self._arrived:
                    self.frames.append(frame)
                    self._arrived.notify_all()
        except ConnectionClosed:
            pass
        finally:
            async with self._arrived:
                self._arrived.notify_all()

    @property
    def is_closed(self) -> bool:
        return self._reader is not None and self._reader.done()

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    @property
    def close_reason(self) -> str | None:
        return self.ws.close_reason

    # Sending

    def next_id(self) -> str:
        return f"r{next(self._ids)}"

    async def send(self, frame: Frame | str | bytes) -> None:
        """Send one frame: a dict as JSON text; a string as text and bytes as binary, verbatim (for
        malformed frames)."""
        await self.ws.send(frame if isinstance(frame, str | bytes) else orjson.dumps(frame).decode())

    async def request(self, frame: Frame, timeout: float = TIMEOUT) -> Frame:
        """Send `frame` with an `id` (one is added if missing) and return the answer carrying that id."""
        frame = {"id": self.next_id(), **frame}
        await self.send(frame)
        return await self.answer(frame["id"], timeout)

    async def answer(self, request_id: str, timeout: float = TIMEOUT) -> Frame:
        return await self.wait_for(lambda f: f.get("id") == request_id, timeout)

    async def send_message(
        self, room_id: str, body: str, *, client_msg_id: str | None = None, timeout: float = TIMEOUT
    ) -> Frame:
        """Send a message and return the stored message from its `ack`; an `error` answer fails the test."""
        answer = await self.request(send_frame(room_id, body, client_msg_id), timeout)
        if answer["type"] != "ack":
            raise AssertionError(f"send was answered with {answer}")
        message: Frame = answer["message"]
        return message

    async def send_messages(self, room_id: str, bodies: Iterable[str], timeout: float = TIMEOUT) -> list[Frame]:
        """Send the messages pipelined, then collect their acks in order: `PIPELINE` at a time, well inside
        the frames a server holds for one connection before it refuses more (protocol.md)."""
        pending, answers = list(bodies), []
        while pending:
            batch, pending = pending[:PIPELINE], pending[PIPELINE:]
            ids = []
            for body in batch:
                ids.append(self.next_id())
                await self.send({"id": ids[-1], **send_frame(room_id, body)})
            answers += [await self.answer(request_id, timeout) for request_id in ids]
        if failed := [a for a in answers if a["type"] != "ack"]:
            raise AssertionError(f"{len(failed)} sends failed, first: {failed[0]}")
        return [a["message"] for a in answers]

    async def sync_all(self, cursors: dict[str, int], timeout: float = TIMEOUT) -> list[Frame]:
        """`sync` from `cursors` until `has_more` is false, moving each cursor to the last seq received.
        Returns the `sync` answers, one per page."""
        cursors = dict(cursors)
        pages = []
        while True:
            page = await self.request({"type": "sync", "rooms": cursors}, timeout)
            if page["type"] != "sync":
                raise AssertionError(f"sync was answered with {page}")
            pages.append(page)
            for message in page["messages"]:
                cursors[message["room_id"]] = max(cursors[message["room_id"]], message["seq"])
            if not page["has_more"]:
                return pages

    # Receiving

    def of_type(self, *types: str) -> list[Frame]:
        return [f for f in self.frames if f["type"] in types]

    def messages(self, room_id: str | None = None) -> list[Frame]:
        """The messages of the `message` frames received, in arrival order."""
        found = [f["message"] for f in self.of_type("message")]
        return found if room_id is None else [m for m in found if m["room_id"] == room_id]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        """Wait until `condition()` holds; fail at once if the connection closes first."""
        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(lambda: condition() or self.is_closed)
        except TimeoutError:
            raise AssertionError(f"not met within {timeout}s; last frames: {self.frames[-5:]}") from None
        if not condition():
            raise AssertionError(f"connection closed ({self.close_code}) first; last frames: {self.frames[-5:]}")

    async def wait_for(self, predicate: Callable[[Frame], bool], timeout: float = TIMEOUT) -> Frame:
        """The first frame, received already or to come, for which `predicate` holds."""
        await self.wait_until(lambda: any(predicate(f) for f in self.frames), timeout)
        return next(f for f in self.frames if predicate(f))

    async def wait_for_type(self, frame_type: str, timeout: float = TIMEOUT, **fields: Any) -> Frame:
        """The first frame of `frame_type` whose top-level fields equal `fields`."""
        return await self.wait_for(
            lambda f: f["type"] == frame_type and all(f.get(k) == v for k, v in fields.items()), timeout
        )

    async def wait_closed(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes the connection; return its close code."""
        reader = self.start_reading()
        try:
            await asyncio.wait_for(asyncio.shield(reader), timeout)
        except TimeoutError:
            raise AssertionError(f"still open after {timeout}s; last frames: {self.frames[-5:]}") from None
        return self.close_code

    async def ping(self, timeout: float = TIMEOUT) -> Frame:
        return await self.request({"type": "ping"}, timeout)

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await self._reader


def _parse(raw: str | bytes) -> Frame:
    """A server frame; one that is not a JSON object is kept as `{"type": "not_json"}` for a test to see."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"type": "not_json", "raw": raw}
    return frame if isinstance(frame, dict) else {"type": "not_json", "raw": raw}


def send_frame(room_id: str, body: str, client_msg_id: str | None = None) -> Frame:
    return {"type": "send", "room_id": room_id, "client_msg_id": client_msg_id or uuid.uuid4().hex, "body": body}


async def _small_buffer_socket(ws_url: str, receive_buffer: int) -> socket.socket:
    address = urlsplit(ws_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (address.hostname, address.port))
    return sock
