"""The benchmark's baseline: a bare broadcast server on Parley's WebSocket stack (uvicorn + Starlette).

No auth and no store: a client joins the room named by `?room=` and every text frame it sends is sent
as is to every connection of that room, the sender's included. Run with
`uvicorn bench.bare_server:create_app --factory`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


class Rooms:
    def __init__(self) -> None:
        self._members: dict[str, set[WebSocket]] = {}

    async def serve(self, websocket: WebSocket) -> None:
        room = websocket.query_params.get("room", "0")
        await websocket.accept()
        members = self._members.setdefault(room, set())
        members.add(websocket)
        try:
            while True:
                await self._broadcast(members, await websocket.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            members.discard(websocket)

    @staticmethod
    async def _broadcast(members: set[WebSocket], text: str) -> None:
        for member in list(members):
            try:
                await member.send_text(text)
            except (WebSocketDisconnect, RuntimeError):
                members.discard(member)


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app() -> Starlette:
    rooms = Rooms()
    return Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/ws", rooms.serve)])
