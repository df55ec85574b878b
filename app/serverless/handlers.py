"""Lambda entry points. `app.serverless.handlers.websocket` serves the WebSocket API's routes,
`app.serverless.handlers.http` the HTTP API (REST). A container builds its runtime on its first event and
keeps it for the next ones; nothing is built at import time."""

from __future__ import annotations

from typing import Any

from app.serverless.runtime import Runtime

_runtime: Runtime | None = None


def _current() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_environment()
    return _runtime


def websocket(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _current().websocket(event)


def http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _current().http(event, context)
