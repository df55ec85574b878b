"""Store backends, chosen by the scheme of `PARLEY_DATABASE_URL`."""

from __future__ import annotations

from app.settings import DATABASE_SCHEMES, Settings
from app.store.base import Store
from app.store.sql import ReplicaHook, SqlStore


def open_store(settings: Settings, *, on_replica_read: ReplicaHook | None = None) -> Store:
    scheme = settings.database_url.split(":", 1)[0].split("+", 1)[0]
    if scheme in DATABASE_SCHEMES:
        return SqlStore.from_url(
            settings.database_url,
            pool_size=settings.database_pool_size,
            replica_url=settings.database_replica_url,
            on_replica_read=on_replica_read,
        )
    raise ValueError(
        f"PARLEY_DATABASE_URL scheme {scheme!r} is not supported; use one of: "
        "sqlite+aiosqlite://, postgresql+asyncpg://, mysql+asyncmy://"
    )


__all__ = ["Store", "open_store"]
