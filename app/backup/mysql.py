"""MariaDB and MySQL: `mariadb-dump --single-transaction`, loaded by piping into the client."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL

from app.backup.archive import Counts, Dump
from app.backup.tools import COUNTED, find_tool, run_tool, tool_version
from app.errors import Invalid

_COMPLETED = b"-- Dump completed"
# Inside a value the dump tool escapes newlines as \n, so every line holds whole rows.
_INSERT = re.compile(rb"INSERT INTO `(\w+)` VALUES\s*")
_QUOTED = re.compile(rb"'(?:[^'\\]|\\.)*'", re.DOTALL)


def mysql_connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """Client arguments and environment; the password goes in MYSQL_PWD, never on the command line."""
    socket = url.query.get("unix_socket")
    args = ["--default-character-set=utf8mb4"]
    if isinstance(socket, str):
        args.append(f"--socket={socket}")
    else:
        args += ["--protocol=TCP", f"--host={url.host or 'localhost'}"]
    args += [f"--port={url.port}"] if url.port else []
    args += [f"--user={url.username}"] if url.username else []
    return args, {"MYSQL_PWD": str(url.password)} if url.password else {}


def mysql_dump_facts(payload: Path) -> tuple[str | None, Counts]:
    """Schema revision and row counts read from the dump itself, so they match it exactly."""
    revision, found, table = None, dict.fromkeys(COUNTED, 0), None
    with payload.open("rb") as dump:
        for line in dump:
            if (match := _INSERT.match(line)) is not None:
                table, line = match[1].decode(), line[match.end() :]
            if table is None:
                continue
            bare = _QUOTED.sub(b"", line)
            if table == "alembic_version" and (quoted := _QUOTED.search(line)) is not None:
                revision = quoted[0][1:-1].decode()
            elif table in found:
                # With the quoted strings removed, every "(" left opens one row.
                found[table] += bare.count(b"(")
            if bare.rstrip().endswith(b";"):
                table = None
    return revision, Counts(**found)


class Mysql:
    name = "mysql"
    payload = "parley.sql"

    def dump(self, url: URL, payload: Path) -> Dump:
        tool = find_tool("mariadb-dump", "mysqldump", package="the MariaDB client (Debian: mariadb-client)")
        args, env = mysql_connection(url)
        flags = ["--single-transaction", "--routines", "--triggers", "--no-tablespaces"]
        run_tool([tool, *args, *flags, f"--result-file={payload}", str(url.database)], env=env)
        self.check(payload)
        revision, counts = mysql_dump_facts(payload)
        if revision is None:
            raise Invalid("not a Parley database: no alembic_version row (run `parley migrate`)")
        return Dump(revision, counts, tool_version(tool))

    def check(self, payload: Path) -> None:
        with payload.open("rb") as dump:
            dump.seek(max(0, payload.stat().st_size - 4096))
            if _COMPLETED not in dump.read():
                raise Invalid(f"the SQL dump is incomplete (no {_COMPLETED.decode()!r} at its end)")

    def load(self, url: URL, payload: Path) -> None:
        client = find_tool("mariadb", "mysql", package="the MariaDB client (Debian: mariadb-client)")
        args, env = mysql_connection(url)
        with payload.open("rb") as dump:
            run_tool([client, *args, "--batch", str(url.database)], env=env, stdin=dump)
