"""Client frames (protocol.md, WebSocket): validated, dispatched to the chat service, answered.

Shared by the WebSocket gateway (`app/gateway.py`) and the serverless `$default` route
(`app/serverless/websocket.py`): each hands in the connection's user and a `push` that queues one serialised
frame for that connection. A bad frame is answered with an `error` frame, never an exception."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import ValidationError

from app import frames
from app.domain import User
from app.errors import ParleyError, PayloadTooLarge
from app.schemas import PingFrame, ReadFrame, SendFrame, SyncFrame, TypingFrame, client_frame, describe
from app.services import Services

log = logging.getLogger(__name__)
# Queues one frame for the connection, in order; the return value is ignored.
Push = Callable[[str], object]


def request_id_of(raw: Any) -> str | int | None:
    """The `id` of a parsed client frame when it is one the protocol allows (a string or an integer), else
    None: what an answer to the frame, an error included, carries back."""
    request_id = raw.get("id") if isinstance(raw, dict) else None
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


class FrameHandler:
    def __init__(self, services: Services, user: User, push: Push) -> None:
        self.services = services
        self.chat = services.chat
        self.user = user
        self.push = push
        self.max_frame_bytes = services.settings.max_frame_bytes

    def reply(self, frame: dict[str, Any]) -> None:
        self.push(frames.dumps(frame))

    def reply_error(self, code: str, detail: str, request_id: Any = None) -> None:
        self.services.metrics.errors.labels(code).inc()
        self.push(frames.error(code, detail, request_id))

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
            request_id = request_id_of(raw)
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
