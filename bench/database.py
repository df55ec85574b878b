"""Fresh databases for each run: a SQLite file in the run's directory, or a recreated PostgreSQL database."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

POSTGRES_DATABASE = "parley_bench"
POSTGRES_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{POSTGRES_DATABASE}"
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]


class DatabaseError(RuntimeError):
    """The database could not be prepared."""


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{sqlite_path(workdir)}"
    reset_postgres()
    return POSTGRES_URL


def sqlite_path(workdir: Path) -> Path:
    return workdir / "parley.db"


def reset_postgres() -> None:
    for statement in (
        f"DROP DATABASE IF EXISTS {POSTGRES_DATABASE} WITH (FORCE)",
        f"CREATE DATABASE {POSTGRES_DATABASE}",
    ):
        done = subprocess.run([*PSQL, "-c", statement], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise DatabaseError(f"psql {statement!r} failed: {done.stderr.strip()}")


def sqlite_journal_mode(workdir: Path) -> str:
    """The journal mode stored in the database file (WAL is persistent, so this shows what the server set)."""
    with sqlite3.connect(sqlite_path(workdir)) as connection:
        mode: str = connection.execute("PRAGMA journal_mode").fetchone()[0]
    return mode
