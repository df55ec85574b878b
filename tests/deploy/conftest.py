"""Fixtures and clients of the deployment tests: a self-signed certificate, `parley render` run as the CLI runs
it, and a user registered and a WebSocket pinged through whatever sits in front of Parley."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner
from websockets.asyncio.client import connect

from app.cli import cli
from tests.deploy.proxies import SelfSigned

Render = Callable[..., Result]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SelfSigned:
    return SelfSigned.make(tmp_path_factory.mktemp("tls"))


def parse_env(path: Path) -> dict[str, str]:
    """The settings of a rendered parley.env."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


@pytest.fixture(scope="session")
def render() -> Render:
    """`render("single", "--out", ...)` runs `parley render single --out ...` and returns its result."""
    runner = CliRunner()

    def invoke(*args: str | Path) -> Result:
        return runner.invoke(cli, ["render", *map(str, args)])

    return invoke


async def register(base_url: str, username: str, *, verify: ssl.SSLContext | bool = True) -> str:
    """A new account's token, registered through `base_url`."""
    async with httpx.AsyncClient(base_url=base_url, verify=verify) as client:
        response = await client.post("/api/v1/auth/register", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


async def ping(ws_url: str, *, ssl_context: ssl.SSLContext | None = None) -> dict[str, Any]:
    """Open `ws_url`, send a `ping` frame and return the `pong` that answers it."""
    options: dict[str, Any] = {"open_timeout": 10} | ({"ssl": ssl_context} if ssl_context else {})
    async with connect(ws_url, **options) as websocket:
        await websocket.send(json.dumps({"type": "ping", "id": "p1"}))
        async with asyncio.timeout(10):
            while (frame := json.loads(await websocket.recv()))["type"] != "pong":
                pass
    return dict(frame)
