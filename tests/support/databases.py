"""Isolated databases on the machine's running servers: one fresh database per test.

PostgreSQL copies a template migrated once per session (fast); MariaDB creates the schema per test;
SQLite uses a file in the test's temporary folder. URLs can be overridden with PARLEY_TEST_POSTGRES_URL
and PARLEY_TEST_MYSQL_URL (server URLs without a database name)."""

from __future__ import annotations

import asyncio
import os
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
TEMPLATE = "parley_template"


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


def prepare_postgres_template() -> None:
    """Drop leftovers of earlier runs and migrate a template database once."""
    _run(_drop_leftovers_pg())
    _run(_admin(f"{POSTGRES}/postgres", f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)',
                f'CREATE DATABASE "{TEMPLATE}"'))  # fmt: skip
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, f"{POSTGRES}/{TEMPLATE}").result()


async def _drop_leftovers_pg() -> None:
    engine = create_async_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            names = await conn.execute(sa.text(f"SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"))
            for (name,) in names.all():
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def new_postgres() -> str:
    name = PREFIX + uuid.uuid4().hex[:12]
    await _admin(f"{POSTGRES}/postgres", f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return f"{POSTGRES}/{name}"


async def new_mysql(*, migrate: bool = True) -> str:
    name = PREFIX + uuid.uuid4().hex[:12]
    await _admin(f"{MYSQL}/", f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    url = f"{MYSQL}/{name}"
    if migrate:
        await asyncio.to_thread(upgrade, url)
    return url


async def drop_mysql(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    await _admin(f"{MYSQL}/", f"DROP DATABASE IF EXISTS `{name}`")


def drop_all_postgres() -> None:
    _run(_drop_leftovers_pg())
