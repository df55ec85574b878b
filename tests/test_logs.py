"""Logs of a real `parley serve`: JSON lines with request ids, and never a bearer token."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.support.servers import ServerProcess, migrate


def test_logs_are_json_with_request_ids_and_no_tokens(tmp_path: Path) -> None:
    env = {"PARLEY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}", "PARLEY_LOG_LEVEL": "INFO"}
    migrate(env)
    server = ServerProcess(env=env, log_path=tmp_path / "server.log").start()
    try:
        answer = httpx.post(
            f"{server.base_url}/api/v1/auth/register",
            json={"username": "logger", "password": "correct horse"},
            headers={"X-Request-ID": "trace-me-42"},
        )
        assert answer.headers["x-request-id"] == "trace-me-42"
        token = answer.json()["token"]
        with connect(f"{server.ws_url}?token={token}") as socket:
            socket.send(json.dumps({"type": "ping", "id": 1}))
            assert json.loads(socket.recv(timeout=5)) == {"type": "pong", "id": 1}
    finally:
        server.stop()
    text = server.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert token not in text and token.split(".")[2] not in text
    assert any(
        line.get("request_id") == "trace-me-42" and line.get("path") == "/api/v1/auth/register" for line in lines
    )
    assert any(line.get("path") == "/ws" and line.get("kind") == "websocket" for line in lines)
