"""What every backend shares: running the dump tools, and reading counts through SQLAlchemy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from app.backup.archive import Counts
from app.errors import Invalid, Unavailable
from app.store.tables import messages, rooms, users

COUNTED = {"users": users, "rooms": rooms, "messages": messages}


def find_tool(*names: str, package: str) -> str:
    for name in names:
        if found := shutil.which(name):
            return found
    raise Unavailable(f"{' or '.join(names)} not found on PATH; install {package}")


def run_tool(command: list[str], *, env: dict[str, str], stdin: IO[bytes] | None = None) -> str:
    try:
        result = subprocess.run(command, env={**os.environ, **env}, stdin=stdin, capture_output=True, check=False)
    except OSError as error:
        raise Unavailable(f"cannot run {command[0]}: {error.strerror or error}") from error
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").splitlines() or [f"exit status {result.returncode}"]
        name = Path(command[0]).name
        reason = next((line for line in lines if "error" in line.lower()), lines[0]).strip()
        reason = re.sub(rf"^\S*{re.escape(name)}:\s*(error:\s*)?", "", reason, flags=re.IGNORECASE)
        raise Unavailable(f"{name} failed: {reason}")
    return result.stdout.decode(errors="replace")


def tool_version(tool: str) -> str:
    return run_tool([tool, "--version"], env={}).strip().splitlines()[0]


def first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def redacted(url: URL) -> str:
    return url.render_as_string(hide_password=True)


async def facts(conn: AsyncConnection) -> tuple[str, Counts]:
    """Schema revision and counts, as this connection's transaction sees them."""
    try:
        revision = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
    except exc.ProgrammingError:
        revision = None
    if revision is None:
        raise Invalid("not a Parley database: no schema revision in alembic_version (run `parley migrate`)")
    counts = [(await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one() for t in COUNTED.values()]
    return str(revision), Counts(*counts)
