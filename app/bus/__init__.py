"""Bus backends, chosen by the scheme of `PARLEY_BUS_URL`."""

from __future__ import annotations

from app.bus.base import Bus, Event
from app.bus.memory import MemoryBus
from app.settings import Settings


def open_bus(settings: Settings, *, node_id: str) -> Bus:
    scheme = settings.bus_url.split(":", 1)[0]
    if scheme == "memory":
        return MemoryBus(node_id)
    if scheme in ("redis", "rediss"):
        from app.bus.redis import RedisBus

        return RedisBus(
            settings.bus_url, node_id=node_id, prefix=settings.bus_prefix, liveness_seconds=settings.heartbeat_seconds
        )
    if scheme == "apigateway":
        from app.bus.apigateway import ApiGatewayBus

        return ApiGatewayBus.from_url(settings.bus_url, node_id=node_id)
    raise ValueError(f"PARLEY_BUS_URL scheme {scheme!r} is not supported; use memory://, redis:// or apigateway://")


__all__ = ["Bus", "Event", "open_bus"]
