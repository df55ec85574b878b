"""`FrontDoorOnly`: refuse what did not come through the deployment's Azure Front Door.

On Azure each region's Container App has a public host name of its own, which no network rule can narrow
(docs/azure.md), so a client could skip Front Door. Front Door adds `X-Azure-FDID: <profile id>` to every
request it forwards, and Microsoft's documented check is for the origin to refuse any request without its
profile's id there. Another profile's requests carry that profile's own id, so they do not pass; clients
never see the id (Front Door does not return it, and these refusals never name it). It is no secret from whoever reads
the stack's outputs, though, and anyone who learns it can send the header directly (docs/azure.md says
what closes that path for good).

Refusals are the protocol's `forbidden` error: HTTP 403 with the JSON error body; a WebSocket handshake gets
the same 403 before it is accepted (through the ASGI denial-response extension, which uvicorn offers; where a
server lacks it, a close before accept, which ASGI servers also answer with 403). Unlike a bad token, which
the gateway reports after accepting (close 4401, so browsers can read why), such a client is never served.

`/healthz` and `/readyz` stay open: Container Apps' own probes call them directly, not through Front Door,
and they reveal nothing but whether the node is up."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from app.errors import error_body

HEADER = b"x-azure-fdid"
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
# Policy violation: the closest WebSocket code, used only where the server cannot send a 403 itself.
CLOSE_POLICY_VIOLATION = 1008
DETAIL = "requests must come through this deployment's Front Door"


class FrontDoorOnly:
    """ASGI middleware: pass HTTP requests and WebSocket handshakes whose one `X-Azure-FDID` header equals
    one of `allowed_ids` (lower-case GUIDs; compared case-insensitively and in constant time), and the probe
    paths in `OPEN_PATHS`; refuse every other one with 403 `forbidden`. Other scopes (lifespan) pass."""

    def __init__(self, app: ASGIApp, *, allowed_ids: Iterable[str]) -> None:
        self.app = app
        self.allowed = [allowed.lower().encode() for allowed in allowed_ids]
        if not self.allowed:
            raise ValueError("FrontDoorOnly needs at least one Front Door id to allow")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS or self._from_front_door(scope):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(error_body("forbidden", DETAIL), status_code=403)
        if scope["type"] == "http":
            await response(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            await websocket.send_denial_response(response)
        else:
            await websocket.close(CLOSE_POLICY_VIOLATION, DETAIL)

    def _from_front_door(self, scope: Scope) -> bool:
        # Exactly one header: a request carrying a forged id next to a real one is refused, not guessed at.
        values = [value for name, value in scope["headers"] if name.lower() == HEADER]
        if len(values) != 1:
            return False
        given = values[0].strip().lower()
        # Every allowed id is compared, so the time taken does not tell which one came close.
        matches = [hmac.compare_digest(given, allowed) for allowed in self.allowed]
        return any(matches)
