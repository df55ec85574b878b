"""PostgreSQL: `pg_dump --format=custom` from an exported snapshot; `pg_restore --single-transaction`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import URL

from app.backup.archive import Dump
from app.backup.tools import facts, find_tool, first_line, redacted, run_tool, tool_version
from app.errors import Unavailable
from app.store.sql import make_engine


def pg_connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment; the password goes in PGPASSWORD, never on the command line."""
    host = url.query.get("host") or url.host
    args = [f"--dbname={url.database}"]
    args += [f"--host={host}"] if isinstance(host, str) else []
    args += [f"--port={url.port}"] if url.port else []
    args += [f"--username={url.username}"] if url.username else []
    env = {"PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if isinstance(ssl := url.query.get("ssl") or url.query.get("sslmode"), str):
        env["PGSSLMODE"] = ssl
    return args, env


class Postgres:
    name = "postgresql"
    payload = "parley.pgdump"

    def dump(self, url: URL, payload: Path) -> Dump:
        pg_dump = find_tool("pg_dump", package="the PostgreSQL client (Debian: postgresql-client)")
        return asyncio.run(self._dump(url, payload, pg_dump))

    async def _dump(self, url: URL, payload: Path, pg_dump: str) -> Dump:
        args, env = pg_connection(url)
        engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
        try:
            async with engine.connect() as conn:
                # Export this transaction's snapshot and dump from it, so the counts match the dump exactly.
                await conn.execution_options(isolation_level="REPEATABLE READ")
                snapshot = (await conn.execute(sa.text("SELECT pg_export_snapshot()"))).scalar_one()
                revision, counts = await facts(conn)
                command = [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={payload}", *args]
                await asyncio.to_thread(run_tool, command, env=env)
        except (exc.SQLAlchemyError, OSError) as error:
            raise Unavailable(f"cannot read {redacted(url)}: {first_line(error)}") from error
        finally:
            await engine.dispose()
        return Dump(revision, counts, tool_version(pg_dump))

    def check(self, payload: Path) -> None:
        pg_restore = find_tool("pg_restore", package="the PostgreSQL client (Debian: postgresql-client)")
        run_tool([pg_restore, "--list", str(payload)], env={})

    def load(self, url: URL, payload: Path) -> None:
        pg_restore = find_tool("pg_restore", package="the PostgreSQL client (Debian: postgresql-client)")
        args, env = pg_connection(url)
        # --no-owner and --no-privileges: the target may be another cluster, without the source's roles.
        flags = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction"]
        run_tool([pg_restore, *flags, *args, str(payload)], env=env)
