"""The two servers under test: `parley serve` and the bare broadcast baseline, as real processes."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from bench.server import ServerProcess, ServerStartError, free_port, start_server

REPO_ROOT = Path(__file__).resolve().parents[1]
MESSAGES_PER_SECOND = 1000


def parley_command() -> str:
    """The `parley` console script next to this interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / "parley"
    found = str(beside) if beside.exists() else shutil.which("parley")
    if found is None:
        raise ServerStartError("no `parley` console script: install the project (`pip install -e .`)")
    return found


def parley_env(database_url: str, secret_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "PARLEY_ENV": "dev",
        "PARLEY_DATABASE_URL": database_url,
        "PARLEY_BUS_URL": "memory://",
        "PARLEY_SECRET_KEY": secret_key,
        "PARLEY_MESSAGES_PER_SECOND": str(MESSAGES_PER_SECOND),
        "PARLEY_MESSAGE_BURST": str(MESSAGES_PER_SECOND),
    }


def new_secret_key() -> str:
    return secrets.token_urlsafe(32)


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [parley_command(), "migrate"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ServerStartError(f"parley migrate failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


async def start_parley(*, name: str, env: dict[str, str], workdir: Path) -> ServerProcess:
    port = free_port()
    argv = [parley_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return await start_server(name=name, argv=argv, env=env, port=port, log_path=_log(workdir, name), cwd=REPO_ROOT)


# The bare server runs on the uvicorn WebSocket implementation `parley serve` picks, with its defaults.
async def start_bare(*, name: str, workdir: Path) -> ServerProcess:
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "bench.bare_server:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--ws", "websockets-sansio",
    ]  # fmt: skip
    return await start_server(
        name=name, argv=argv, env=dict(os.environ), port=port, log_path=_log(workdir, name), cwd=REPO_ROOT
    )


def _log(workdir: Path, name: str) -> Path:
    return workdir / f"{name.replace(' ', '-')}.log"
