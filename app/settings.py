"""Settings from the environment (`PARLEY_*`); nothing is read at import time."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb", "dynamodb")
BUS_SCHEMES = ("memory", "redis", "rediss", "apigateway")
DEV_SECRET_KEY = "parley-dev-secret-change-me-0123456789abcdef"
# An Azure Front Door profile's id (the `X-Azure-FDID` header it adds): a GUID.
FRONT_DOOR_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Settings(BaseSettings):
    """Every knob of a Parley node. See README.md for the full table."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    env: Literal["dev", "production"] = "dev"
    secret_key: str = DEV_SECRET_KEY
    token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)

    database_url: str = "sqlite+aiosqlite:///./parley.db"
    database_replica_url: str | None = None
    database_pool_size: int = Field(default=10, gt=0)
    bus_url: str = "memory://"
    bus_prefix: str = Field(default="parley", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    max_body_bytes: int = Field(default=4000, gt=0)
    max_frame_bytes: int = Field(default=16384, gt=0)
    messages_per_second: float = Field(default=10.0, gt=0)
    message_burst: int = Field(default=20, gt=0)
    # Where the per-user send counters live when not in the bus's Redis: dynamodb://?region=R&table=T, so
    # every Lambda container of a region shares one budget per user (app/ratelimit_dynamodb.py).
    ratelimit_url: str | None = None
    send_queue_size: int = Field(default=256, gt=0)
    heartbeat_seconds: float = Field(default=20.0, gt=0)

    log_level: str = "INFO"
    log_json: bool = True
    node_id: str | None = None
    # Azure only: when set, every request but the health probes must carry one of these Front Door profile
    # ids in `X-Azure-FDID` (app/front_door.py). Several, comma-separated, while moving to a new profile.
    # NoDecode: the variable is a plain comma-separated list, not JSON.
    front_door_ids: Annotated[tuple[str, ...], NoDecode] = ()
    # Where clients open the WebSocket when it is not `/ws` on the host serving the REST API (serverless: API
    # Gateway's WebSocket API has a host of its own). Served in `GET /api/v1/endpoints`; clients add `?token=`.
    public_websocket_url: str | None = None

    @field_validator("database_url", "database_replica_url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        scheme = (url or "").split(":", 1)[0].split("+", 1)[0]
        if url is not None and scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"scheme {scheme!r} is not supported; use sqlite+aiosqlite:///path, postgresql+asyncpg://..., "
                "mysql+asyncmy://... or dynamodb://?region=..."
            )
        return url

    @field_validator("bus_url")
    @classmethod
    def _known_bus(cls, url: str) -> str:
        scheme = url.split(":", 1)[0]
        if scheme not in BUS_SCHEMES:
            raise ValueError(
                f"scheme {scheme!r} is not supported; use memory://, redis://host:6379/0 (rediss:// for TLS) "
                "or apigateway://... (serverless)"
            )
        return url

    @field_validator("ratelimit_url")
    @classmethod
    def _known_ratelimit_storage(cls, url: str | None) -> str | None:
        if url and not url.startswith("dynamodb://"):
            scheme = url.split(":", 1)[0]
            raise ValueError(f"scheme {scheme!r} is not supported; use dynamodb://?region=R&table=T (serverless)")
        return url or None

    @field_validator("front_door_ids", mode="before")
    @classmethod
    def _front_door_ids(cls, value: object) -> object:
        """A comma-separated string (the environment's form) or a sequence; each id a GUID, compared in lower
        case. Empty means no check, so an unset and an empty variable agree."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value  # pydantic reports the wrong type
        ids = [str(item).strip().lower() for item in items]
        if ids == [""]:
            return ()
        for item in ids:
            if not FRONT_DOOR_ID.fullmatch(item):
                raise ValueError(
                    f"{item!r} is not a Front Door id; give the profile's id (a GUID such as the `frontDoorId` "
                    "stack output), several separated by commas"
                )
        return tuple(dict.fromkeys(ids))

    @field_validator("public_websocket_url")
    @classmethod
    def _websocket_address(cls, url: str | None) -> str | None:
        """An absolute ws:// or wss:// URL with a host and no query or fragment (clients append the token's
        query); empty means unset, so an unset and an empty variable agree."""
        if not url:
            return None
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - parsing the port is the check: it raises on a bad one
        except ValueError as error:
            raise ValueError(f"{url!r} has a bad port: {error}") from None
        if parts.scheme not in ("ws", "wss") or not parts.hostname or any(c.isspace() for c in url):
            raise ValueError(f"{url!r} is not a WebSocket URL; give wss://host[/path] (or ws:// without TLS)")
        if parts.query or parts.fragment or url.endswith(("?", "#")):
            raise ValueError(f"{url!r} has a query or fragment; give the bare address, clients add ?token=")
        return url

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        if self.env == "production":
            if self.secret_key == DEV_SECRET_KEY:
                raise ValueError(
                    "PARLEY_SECRET_KEY is the development default; set a random secret of 32+ characters "
                    "(for example `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                    "before running with PARLEY_ENV=production"
                )
            if len(self.secret_key) < 32:
                raise ValueError("PARLEY_SECRET_KEY must be at least 32 characters in production")
        return self
