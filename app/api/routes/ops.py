"""Operations: liveness, readiness, metrics, the limits clients must respect, and where clients find the
WebSocket."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.deps import ServicesDep
from app.domain import PAGE_MAX
from app.errors import Unavailable

READY_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, dependency in (("store", services.store), ("bus", services.bus)):
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await dependency.ping()
            checks[name] = "ok"
        except Unavailable as error:
            checks[name] = error.detail
        except TimeoutError:
            checks[name] = f"no answer within {READY_TIMEOUT_SECONDS}s"
    failed = [name for name, result in checks.items() if result != "ok"]
    if failed:
        detail = f"not ready: {', '.join(failed)} unreachable"
        body = {"error": {"code": "unavailable", "detail": detail}, "checks": checks}
        return JSONResponse(body, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/limits")
async def limits(services: ServicesDep) -> dict[str, Any]:
    s = services.settings
    return {
        "max_body_bytes": s.max_body_bytes,
        "max_frame_bytes": s.max_frame_bytes,
        "messages_per_second": s.messages_per_second,
        "message_burst": s.message_burst,
        "page_max": PAGE_MAX,
    }


@router.get("/api/v1/endpoints")
async def endpoints(services: ServicesDep) -> dict[str, str | None]:
    """Where clients open the WebSocket (`PARLEY_PUBLIC_WEBSOCKET_URL`); null means `/ws` on this host. Open to
    anyone, like `/limits`: a client asks before it has a token."""
    return {"websocket_url": services.settings.public_websocket_url}
