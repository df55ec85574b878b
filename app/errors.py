"""One domain error hierarchy, mapped once to HTTP statuses and protocol error codes."""

from __future__ import annotations

from http import HTTPStatus


class ParleyError(Exception):
    """Base of every expected error; `code` is the stable protocol code."""

    code = "invalid_request"
    status = HTTPStatus.BAD_REQUEST

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Invalid(ParleyError):
    code = "invalid_request"
    status = HTTPStatus.BAD_REQUEST


class Unauthorized(ParleyError):
    code = "unauthorized"
    status = HTTPStatus.UNAUTHORIZED


class Forbidden(ParleyError):
    code = "forbidden"
    status = HTTPStatus.FORBIDDEN


class NotFound(ParleyError):
    code = "not_found"
    status = HTTPStatus.NOT_FOUND


class Conflict(ParleyError):
    code = "conflict"
    status = HTTPStatus.CONFLICT


class PayloadTooLarge(ParleyError):
    code = "payload_too_large"
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class RateLimited(ParleyError):
    code = "rate_limited"
    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(ParleyError):
    code = "unavailable"
    status = HTTPStatus.SERVICE_UNAVAILABLE


def error_body(code: str, detail: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "detail": detail}}
