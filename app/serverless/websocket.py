"""The WebSocket API's routes: `$connect`, `$disconnect`, and every frame (`$default`, or a route per type).

Frames are handled by the same `FrameHandler` as the gateway of `parley serve`; its answers (`ack`, `sync`,
`pong`, `error`) are posted back to the calling connection through the management API."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from typing import Any

from app import frames
from app.bus.apigateway import ApiGatewayBus, ConnectionInfo
from app.errors import Unauthorized, Unavailable
from app.frame_handler import FrameHandler, request_id_of
from app.services import Services

log = logging.getLogger(__name__)
Event = dict[str, Any]
Response = dict[str, Any]
OK: Response = {"statusCode": 200}


def gateway_bus(services: Services) -> ApiGatewayBus:
    if not isinstance(services.bus, ApiGatewayBus):
        raise RuntimeError("the WebSocket handler needs PARLEY_BUS_URL=apigateway://<api host>/<stage>?table=...")
    return services.bus


async def handle(services: Services, event: Event) -> Response:
    context = event["requestContext"]
    route, connection_id = context["routeKey"], context["connectionId"]
    bus = gateway_bus(services)
    if route == "$connect":
        return await connect(services, bus, connection_id, event)
    if route == "$disconnect":
        return await disconnect(services, bus, connection_id)
    return await receive(services, bus, connection_id, event)


async def connect(services: Services, bus: ApiGatewayBus, connection_id: str, event: Event) -> Response:
    """Authenticate the `token` query parameter; any status but 2xx refuses the connection."""
    token = (event.get("queryStringParameters") or {}).get("token")
    try:
        user, expires_at = await services.accounts.authenticate(token)
    except Unauthorized as error:
        return {"statusCode": 401, "body": error.detail}
    except Unavailable as error:
        return {"statusCode": 503, "body": error.detail}
    try:
        first = await bus.add_connection(connection_id, user, expires_at=expires_at)
    except Unavailable as error:
        return {"statusCode": 503, "body": error.detail}  # the client reconnects with backoff
    try:
        await services.chat.came_online(user, first_on_node=first)
    except Unavailable as error:
        log.warning("presence unavailable: %s", error.detail)
    return OK


async def disconnect(services: Services, bus: ApiGatewayBus, connection_id: str) -> Response:
    user_id, offline = await bus.remove_connection(connection_id)
    if user_id is not None and offline:
        await services.chat.announce_offline([user_id])
    return OK


async def receive(services: Services, bus: ApiGatewayBus, connection_id: str, event: Event) -> Response:
    def push(frame: str) -> None:
        bus.post_soon(connection_id, frame)

    try:
        info = await bus.connection(connection_id)
    except Unavailable as error:
        push(frames.error(error.code, error.detail, _request_id(event)))
        await bus.flush()
        return OK
    if info is None or info.expires_at <= time.time():
        # The gateway closes such a connection with 4401; API Gateway cannot, so: say why, then end it.
        push(frames.error("unauthorized", "token expired" if info else "unknown connection; reconnect"))
        await bus.flush()
        await bus.disconnect(connection_id)
        return OK
    handler = FrameHandler(services, info.user, push)
    if not info.greeted and await bus.greet(connection_id):
        await _greet(services, bus, info)
    text = _text(event)
    if text is None:
        handler.reply_error("invalid_request", "binary frames must be UTF-8 JSON")
    else:
        await handler.handle(text)
    await bus.flush()
    return OK


async def _greet(services: Services, bus: ApiGatewayBus, info: ConnectionInfo) -> None:
    """The presence of the user's online contacts, which `$connect` could not post yet."""
    try:
        online = await bus.online(await services.store.contacts(info.user.id))
    except Unavailable as error:
        log.warning("presence unavailable: %s", error.detail)
        return
    for user_id in sorted(online - {info.user.id}):
        bus.post_soon(info.connection_id, frames.presence(user_id, True))


def _request_id(event: Event) -> str | int | None:
    """The frame's `id`, for an answer given before the frame is parsed; None when there is none."""
    try:
        return request_id_of(json.loads(event.get("body") or ""))
    except ValueError:
        return None


def _text(event: Event) -> str | None:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(body)
    try:
        return base64.b64decode(body, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
