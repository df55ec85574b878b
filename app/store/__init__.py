"""Store backends, chosen by the scheme of `PARLEY_DATABASE_URL`."""

from __future__ import annotations

from collections.abc import Callable

from app.settings import DATABASE_SCHEMES, Settings
from app.store.base import Store


def open_store(settings: Settings, *, on_replica_read: Callable[[bool], None] | None = None) -> Store:
    # Backends import lazily: a SQL node never loads boto3, and the serverless handlers never load SQLAlchemy.
    scheme = settings.database_url.split(":", 1)[0].split("+", 1)[0]
    if scheme == "dynamodb":
        from app.store.dynamodb import DynamoStore

        return DynamoStore.from_url(settings.database_url, pool_size=settings.database_pool_size)
    if scheme in DATABASE_SCHEMES:
        from app.store.sql import SqlStore

        return SqlStore.from_url(
            settings.database_url,
            pool_size=settings.database_pool_size,
            replica_url=settings.database_replica_url,
            on_replica_read=on_replica_read,
        )
    raise ValueError(
        f"PARLEY_DATABASE_URL scheme {scheme!r} is not supported; use one of: "
        "sqlite+aiosqlite://, postgresql+asyncpg://, mysql+asyncmy://, dynamodb://"
    )


__all__ = ["Store", "open_store"]
