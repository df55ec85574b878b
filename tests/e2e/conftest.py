"""Fixtures of the end-to-end tests: real `parley serve` processes on a fresh database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.store.migrate import upgrade
from tests.e2e.harness import Nodes, cluster_env, sqlite_copy
from tests.support import databases
from tests.support.servers import ServerProcess


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once; each test copies it, which is much faster than migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "parley.db"
    with ThreadPoolExecutor(1) as pool:  # alembic's env.py runs its own event loop
        pool.submit(upgrade, f"sqlite+aiosqlite:///{path}").result()
    return path


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone: PostgreSQL unless parametrised (indirectly) with
    "sqlite" or "mariadb"."""
    backend = getattr(request, "param", "postgresql")
    if backend == "sqlite":
        yield sqlite_copy(sqlite_template, tmp_path)
    elif backend == "postgresql":
        request.getfixturevalue("postgres_template")
        yield await databases.new_postgres()
    else:
        url = await databases.new_mysql()
        yield url
        await databases.drop_mysql(url)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    started = Nodes(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def cluster(database_url: str, nodes: Nodes) -> list[ServerProcess]:
    """Two nodes sharing one database and Redis."""
    return nodes.start(cluster_env(database_url), count=2)


@pytest.fixture
def node(nodes: Nodes, sqlite_template: Path, tmp_path: Path) -> ServerProcess:
    """One node on SQLite and the in-memory bus."""
    (server,) = nodes.start(
        {"PARLEY_DATABASE_URL": sqlite_copy(sqlite_template, tmp_path), "PARLEY_BUS_URL": "memory://"}
    )
    return server
