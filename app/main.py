"""`create_app(settings)`: builds the ASGI app; nothing is connected until its lifespan starts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from app import __version__
from app.api.routes import accounts, messages, ops, rooms
from app.errors import ParleyError, RateLimited, error_body
from app.front_door import FrontDoorOnly
from app.gateway import websocket_endpoint
from app.logs import BodyLimit, RequestContext
from app.services import Services
from app.settings import Settings

log = logging.getLogger(__name__)
WEB = Path(__file__).parent / "web"
# HTTP statuses FastAPI raises itself (unknown route, wrong method...), as protocol codes.
_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await Services.start(settings)
        try:
            yield
        finally:
            await app.state.services.stop()

    app = FastAPI(
        title="Parley",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    for router in (accounts.router, rooms.router, messages.router):
        app.include_router(router, prefix="/api/v1")
    app.include_router(ops.router)
    app.add_api_websocket_route("/ws", websocket_endpoint)
    _add_error_handlers(app)
    _add_web_client(app)
    app.add_middleware(BodyLimit, max_bytes=max(65536, 8 * settings.max_body_bytes))
    if settings.front_door_ids:
        # Outside BodyLimit, so a client that skipped Front Door learns nothing but 403; inside RequestContext,
        # so each refusal is still logged with its request id.
        app.add_middleware(FrontDoorOnly, allowed_ids=settings.front_door_ids)
    app.add_middleware(RequestContext)
    return app


def serve_app() -> FastAPI:
    """The factory `parley serve` hands uvicorn: logging set up in each worker process, then the app."""
    from app import logs

    settings = Settings()
    logs.configure(level=settings.log_level, json=settings.log_json)
    return create_app(settings)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ParleyError)
    async def domain_error(request: Request, error: ParleyError) -> JSONResponse:
        request.app.state.services.metrics.errors.labels(error.code).inc()
        headers = {"Retry-After": str(max(1, round(error.retry_after)))} if isinstance(error, RateLimited) else None
        return JSONResponse(error_body(error.code, error.detail), status_code=error.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        detail = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        request.app.state.services.metrics.errors.labels("invalid_request").inc()
        return JSONResponse(error_body("invalid_request", detail), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(error.status_code, "invalid_request")
        return JSONResponse(
            error_body(code, str(error.detail)), status_code=error.status_code, headers=getattr(error, "headers", None)
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("request failed")
        return JSONResponse(error_body("internal_error", "the server failed; it has been logged"), status_code=500)


def _add_web_client(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=WEB, check_dir=False), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})
