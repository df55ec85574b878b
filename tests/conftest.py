"""Shared fixtures: a fresh store on every backend, a bus pair on every backend, real server processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.bus.memory import MemoryBus
from app.store.base import Store
from app.store.sql import SqlStore
from tests.support import databases
from tests.support.servers import ServerProcess, migrate

if TYPE_CHECKING:
    from tests.support.moto import MotoServer

pytest_plugins = ["tests.support.live"]

# CI systems whose services have host names of their own (GitLab's Docker executor) point these elsewhere.
REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STORE_BACKENDS = ["sqlite", "postgresql", "mariadb", "dynamodb"]


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[None]:
    databases.prepare_postgres_template()
    yield
    databases.drop_all_postgres()


async def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated, empty database of `backend` for this test alone."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}"
        migrate({"PARLEY_DATABASE_URL": url})
        return url
    if backend == "postgresql":
        request.getfixturevalue("postgres_template")
        return await databases.new_postgres()
    return await databases.new_mysql()


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """moto's AWS on a spare loopback port, for the whole session (tests/support/moto.py)."""
    from tests.support.moto import moto_server

    with moto_server() as server:
        yield server


def dynamodb_url(moto: MotoServer) -> str:
    """A DynamoDB store URL on moto whose table no other test uses."""
    return f"dynamodb://?region=us-east-1&prefix=parley-test-{uuid.uuid4().hex[:8]}-&endpoint={moto.endpoint}"


@pytest.fixture(params=STORE_BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "dynamodb":
        from app.store.dynamodb import DynamoStore, create_table, drop_table

        url = dynamodb_url(request.getfixturevalue("moto"))
        create_table(url)
        dynamo_store = DynamoStore.from_url(url, pool_size=20)
        yield dynamo_store
        await dynamo_store.close()
        drop_table(url)
        return
    url = await store_url(request.param, tmp_path, request)
    sql_store = SqlStore.from_url(url, pool_size=20)
    yield sql_store
    await sql_store.close()
    if request.param == "mariadb":
        await databases.drop_mysql(url)


def bus_prefix() -> str:
    return f"parley-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["memory", "redis"])
async def bus_factory(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    """Makes the buses of one deployment, one per node id (the in-memory bus has one node only)."""
    made: list[object] = []
    prefix = bus_prefix()

    def make(node_id: str) -> object:
        if request.param == "memory":
            return MemoryBus(node_id)
        from app.bus.redis import RedisBus

        bus = RedisBus(REDIS_URL, node_id=node_id, prefix=prefix, liveness_seconds=3)
        made.append(bus)
        return bus

    make.backend = request.param  # type: ignore[attr-defined]
    yield make
    for bus in made:
        await bus.close()  # type: ignore[attr-defined]


@pytest.fixture
def parley_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """One real `parley serve` process on SQLite and the in-memory bus."""
    env = {
        "PARLEY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}",
        "PARLEY_BUS_URL": "memory://",
        "PARLEY_ENV": "dev",
        "PARLEY_LOG_LEVEL": "WARNING",
    }
    migrate(env)
    server = ServerProcess(env=env, log_path=tmp_path / "server.log").start()
    yield server
    server.stop()
