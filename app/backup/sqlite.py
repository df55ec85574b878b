"""SQLite: copies made with the online backup API, safe while the server writes (WAL)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL

from app.backup.archive import Counts, Dump
from app.backup.tools import COUNTED
from app.errors import Invalid, NotFound, Unavailable


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise Invalid("backups need an SQLite database file (sqlite+aiosqlite:///path)")
    return Path(url.database)


def sqlite_facts(path: Path) -> Dump:
    """Integrity, schema revision and counts of an SQLite file."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise Invalid(f"the SQLite copy fails integrity_check: {problems[0]}")
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
                raise Invalid("not a Parley database: no alembic_version table (run `parley migrate`)")
            revision = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            counts = [db.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in COUNTED]
    except sqlite3.DatabaseError as error:
        raise Invalid(f"the SQLite copy is unreadable: {error}") from error
    return Dump(revision, Counts(*counts), f"SQLite {sqlite3.sqlite_version}")


class Sqlite:
    name = "sqlite"
    payload = "parley.sqlite3"

    def dump(self, url: URL, payload: Path) -> Dump:
        path = sqlite_path(url)
        if not path.is_file():
            raise NotFound(f"no SQLite database at {path}")
        try:
            with (
                closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)) as source,
                closing(sqlite3.connect(payload)) as copy,
            ):
                source.execute("PRAGMA busy_timeout=10000")
                # All pages in one step: one read transaction, so one consistent snapshot, while WAL mode lets
                # the server go on writing. (Stepwise copies restart whenever another connection writes.)
                source.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error as error:
            raise Unavailable(f"SQLite backup of {path} failed: {error}") from error
        return sqlite_facts(payload)

    def check(self, payload: Path) -> None:
        sqlite_facts(payload)

    def load(self, url: URL, payload: Path) -> None:
        path = sqlite_path(url)
        try:
            with closing(sqlite3.connect(payload)) as source, closing(sqlite3.connect(path)) as target:
                target.execute("PRAGMA busy_timeout=10000")
                source.backup(target, pages=-1)
        except sqlite3.Error as error:
            raise Unavailable(f"restoring into {path} failed: {error}") from error
