"""The WebSocket gateway (`GET /ws?token=...`): one reader loop per connection, frames per protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from app import frames
from app.errors import ParleyError, PayloadTooLarge, Unauthorized, Unavailable
from app.hub import CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHORIZED, Connection
from app.schemas import PingFrame, ReadFrame, SendFrame, SyncFrame, TypingFrame, client_frame, describe
from app.services import Services

log = logging.getLogger(__name__)
CLEANUP_SECONDS = 5.0


async def websocket_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    try:
        user, expires_at = await services.accounts.authenticate(websocket.query_params.get("token"))
    except Unauthorized as error:
        await websocket.close(CLOSE_UNAUTHORIZED, error.detail)
        return
    except Unavailable as error:
        await websocket.close(CLOSE_TRY_AGAIN_LATER, error.detail)
        return
    connection = Connection(websocket, user, queue_size=services.settings.send_queue_size, metrics=services.metrics)
    first_on_node = services.hub.add(connection)
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, expires_at - time.time()), connection.close_soon, CLOSE_UNAUTHORIZED, "token expired"
    )
    try:
        await _announce_presence(services, connection, first_on_node=first_on_node)
        await _read_frames(services, connection, websocket)
    finally:
        expiry.cancel()
        await connection.stop_writer()
        if services.hub.remove(connection):
            # Shielded: a handler cancelled mid-clean-up (server shutdown) must not leave a store call
            # half done, and presence must still be counted down.
            with contextlib.suppress(Unavailable, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(services.chat.went_offline(user)), CLEANUP_SECONDS)


async def _announce_presence(services: Services, connection: Connection, *, first_on_node: bool) -> None:
    try:
        online = await services.chat.came_online(connection.user, first_on_node=first_on_node)
    except Unavailable as error:
        log.warning("presence unavailable: %s", error.detail)
        return
    for user_id in sorted(online):
        connection.push(frames.presence(user_id, True))


async def _read_frames(services: Services, connection: Connection, websocket: WebSocket) -> None:
    handler = FrameHandler(services, connection)
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            try:
                text = (message.get("bytes") or b"").decode()
            except UnicodeDecodeError:
                handler.reply_error("invalid_request", "binary frames must be UTF-8 JSON")
                continue
        await handler.handle(text)


class FrameHandler:
    def __init__(self, services: Services, connection: Connection) -> None:
        self.services = services
        self.chat = services.chat
        self.connection = connection
        self.user = connection.user
        self.max_frame_bytes = services.settings.max_frame_bytes

    def reply(self, frame: dict[str, Any]) -> None:
        self.connection.push(frames.dumps(frame))

    def reply_error(self, code: str, detail: str, request_id: Any = None) -> None:
        self.services.metrics.errors.labels(code).inc()
        self.connection.push(frames.error(code, detail, request_id))

    async def handle(self, text: str) -> None:
        request_id = None
        try:
            if len(text) > self.max_frame_bytes // 4 and len(text.encode()) > self.max_frame_bytes:
                raise PayloadTooLarge(f"frames are limited to {self.max_frame_bytes} bytes")
            try:
                raw = orjson.loads(text)
            except orjson.JSONDecodeError:
                self.reply_error("invalid_request", "a frame must be one JSON object")
                return
            if isinstance(raw, dict) and isinstance(raw.get("id"), str | int) and not isinstance(raw["id"], bool):
                request_id = raw["id"]
            try:
                frame = client_frame.validate_python(raw)
            except ValidationError as error:
                self.reply_error("invalid_request", describe(error), request_id)
                return
            await self.dispatch(frame)
        except ParleyError as error:
            self.reply_error(error.code, error.detail, request_id)
        except Exception:
            log.exception("frame failed")
            self.reply_error("internal_error", "the server failed on this frame; it has been logged", request_id)

    async def dispatch(self, frame: Any) -> None:
        match frame:
            case SendFrame():
                await self.chat.send(
                    self.user,
                    room_id=frame.room_id,
                    client_msg_id=frame.client_msg_id,
                    body=frame.body,
                    on_stored=lambda message: self.reply({"type": "ack", "id": frame.id, "message": message.public()}),
                )
            case SyncFrame():
                page = await self.chat.sync(self.user, dict(frame.rooms))
                self.reply(
                    {
                        "type": "sync",
                        "id": frame.id,
                        "messages": [m.public() for m in page.messages],
                        "has_more": page.has_more,
                    }
                )
            case ReadFrame():
                await self.chat.mark_read(self.user, room_id=frame.room_id, seq=frame.seq)
            case TypingFrame():
                await self.chat.typing(self.user, room_id=frame.room_id)
            case PingFrame():
                self.reply({"type": "pong", "id": frame.id} if frame.id is not None else {"type": "pong"})
