"""Isolated databases on the machine's running servers: one fresh database per test.

PostgreSQL copies a template migrated once per session (fast); MariaDB creates the schema per test;
SQLite uses a file in the test's temporary folder. URLs can be overridden with PARLEY_TEST_POSTGRES_URL
and PARLEY_TEST_MYSQL_URL (server URLs without a database name)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from app.store.migrate import upgrade

POSTGRES = os.environ.get("PARLEY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
MYSQL = os.environ.get("PARLEY_TEST_MYSQL_URL", "mysql+asyncmy://root@127.0.0.1:3306")
PREFIX = "parley_t_"
# Every database this test session makes starts with SESSION, so sessions running side by side on the same
# servers never drop each other's; leftovers of crashed sessions are dropped once they are STALE_SECONDS old.
SESSION = f"{PREFIX}{int(time.time())}_{uuid.uuid4().hex[:6]}_"
TEMPLATE = f"{SESSION}template"
STALE_SECONDS = 6 * 3600


async def _admin(url: str, *statements: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run on a thread of its own, so it works whether or not the caller is inside an event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def _droppable(name: str, *, only_this_session: bool) -> bool:
    if name.startswith(SESSION):
        return True
    if only_this_session:
        return False
    stamp = name.removeprefix(PREFIX).split("_", 1)[0]
    return not stamp.isdigit() or time.time() - int(stamp) > STALE_SECONDS


async def _drop_postgres(*, only_this_session: bool) -> None:
    engine = create_async_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            query = sa.text(f"SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'")
            for (name,) in (await conn.execute(query)).all():
                if _droppable(name, only_this_session=only_this_session):
                    await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def prepare_postgres_template() -> None:
    """Drop stale leftovers of crashed runs and migrate this session's template database once."""
    _run(_drop_postgres(only_this_session=False))
    _run(_admin(f"{POSTGRES}/postgres", f'CREATE DATABASE "{TEMPLATE}"'))
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, f"{POSTGRES}/{TEMPLATE}").result()


async def new_postgres() -> str:
    name = SESSION + uuid.uuid4().hex[:12]
    await _admin(f"{POSTGRES}/postgres", f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return f"{POSTGRES}/{name}"


async def new_mysql(*, migrate: bool = True) -> str:
    name = SESSION + uuid.uuid4().hex[:12]
    await _admin(f"{MYSQL}/", f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    url = f"{MYSQL}/{name}"
    if migrate:
        await asyncio.to_thread(upgrade, url)
    return url


async def drop_mysql(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    await _admin(f"{MYSQL}/", f"DROP DATABASE IF EXISTS `{name}`")


def drop_all_postgres() -> None:
    """This session's databases only."""
    _run(_drop_postgres(only_this_session=True))
