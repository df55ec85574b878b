"""The WebSocket gateway (`GET /ws?token=...`): one reader loop per connection; each frame goes to the
`FrameHandler` (app/frame_handler.py) that the serverless handlers share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from app import frames
from app.errors import Unauthorized, Unavailable
from app.frame_handler import FrameHandler, request_id_of
from app.hub import CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHORIZED, Connection
from app.services import Services

log = logging.getLogger(__name__)
CLEANUP_SECONDS = 5.0
# Frames a connection may have waiting to be handled before further ones are refused as rate_limited.
INBOX_FRAMES = 256


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
    """Read frames without pause and handle them in order on a task of their own. Reading never waits for
    a frame to be handled, so the client's pongs keep arriving however busy the node is (an unread
    socket would be closed 1011 by the heartbeat); a client that sends faster than its frames can be
    handled finds the inbox full and gets `rate_limited` errors for the frames that do not fit."""
    handler = FrameHandler(services, connection.user, connection.push)
    inbox: asyncio.Queue[str] = asyncio.Queue(INBOX_FRAMES)
    worker = asyncio.create_task(_handle_in_order(handler, inbox), name=f"ws-frames-{connection.user.id}")
    try:
        while (text := await _next_text(websocket, handler)) is not None:
            try:
                inbox.put_nowait(text)
            except asyncio.QueueFull:
                handler.reply_error("rate_limited", "the server is busy with your earlier frames; slow down", _id(text))
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def _handle_in_order(handler: FrameHandler, inbox: asyncio.Queue[str]) -> None:
    while True:
        await handler.handle(await inbox.get())


async def _next_text(websocket: WebSocket, handler: FrameHandler) -> str | None:
    """The next text frame (binary ones decoded as UTF-8), or None once the client is gone."""
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is not None:
            return str(text)
        try:
            return (message.get("bytes") or b"").decode()
        except UnicodeDecodeError:
            handler.reply_error("invalid_request", "binary frames must be UTF-8 JSON")


def _id(text: str) -> str | int | None:
    """The request id of a frame not handled, so its error still names it."""
    try:
        return request_id_of(orjson.loads(text))
    except orjson.JSONDecodeError:
        return None
