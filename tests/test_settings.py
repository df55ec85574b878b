"""Settings (app/settings.py) and how the `parley` command reports bad ones: refused with exit 2 and a
message naming the variable, before anything starts."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from app.bus import open_bus
from app.cli import cli
from app.main import create_app
from app.settings import DEV_SECRET_KEY, Settings
from app.store import open_store

STRONG_KEY = "k" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test sets: no PARLEY_* from the shell running the tests."""
    for name in [n for n in os.environ if n.startswith("PARLEY_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """`parley serve` without a server: records what it would have run."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append({"args": args, **kwargs}))
    yield calls


def test_development_defaults() -> None:
    settings = Settings()
    assert (settings.env, settings.secret_key, settings.bus_url) == ("dev", DEV_SECRET_KEY, "memory://")
    assert (settings.max_body_bytes, settings.max_frame_bytes) == (4000, 16384)


def test_settings_come_from_parley_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_MAX_BODY_BYTES", "1234")
    monkeypatch.setenv("PARLEY_MESSAGES_PER_SECOND", "2.5")
    monkeypatch.setenv("PARLEY_LOG_JSON", "false")
    settings = Settings()
    assert (settings.max_body_bytes, settings.messages_per_second, settings.log_json) == (1234, 2.5, False)


def test_front_door_ids_come_from_one_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain text, not the JSON pydantic-settings expects of list settings by default."""
    assert Settings().front_door_ids == ()
    first, second = "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
    monkeypatch.setenv("PARLEY_FRONT_DOOR_IDS", f"{first},{second.upper()}")
    assert Settings().front_door_ids == (first, second)


@pytest.mark.parametrize(
    "url",
    ["wss://ws.chat.example.com", "ws://127.0.0.1:8000/ws", "wss://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod"],
)
def test_the_public_websocket_url_is_kept_as_given(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    assert Settings().public_websocket_url is None
    monkeypatch.setenv("PARLEY_PUBLIC_WEBSOCKET_URL", url)
    assert Settings().public_websocket_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://chat.example.com/ws", "is not a WebSocket URL"),
        ("ws.chat.example.com", "is not a WebSocket URL"),
        ("wss:///ws", "is not a WebSocket URL"),
        ("wss://chat example.com", "is not a WebSocket URL"),
        ("wss://chat.example.com:70000", "has a bad port"),
        ("wss://chat.example.com/ws?token=abc", "has a query or fragment"),
        ("wss://chat.example.com/ws?", "has a query or fragment"),
        ("wss://chat.example.com/ws#top", "has a query or fragment"),
    ],
)
def test_bad_public_websocket_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=rf"public_websocket_url[\s\S]*{message}"):
        Settings(public_websocket_url=url)


@pytest.mark.parametrize(
    ("key", "message"),
    [(DEV_SECRET_KEY, "PARLEY_SECRET_KEY is the development default"), ("k" * 31, "at least 32 characters")],
)
def test_production_refuses_weak_secret_keys(key: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(env="production", secret_key=key)


def test_production_accepts_a_strong_key() -> None:
    assert Settings(env="production", secret_key=STRONG_KEY).secret_key == STRONG_KEY


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_body_bytes": 0},
        {"max_frame_bytes": -1},
        {"messages_per_second": 0},
        {"message_burst": 0},
        {"token_ttl_seconds": 0},
        {"bus_prefix": "has space"},
        {"env": "staging"},
    ],
)
def test_out_of_range_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(**overrides)


# The command line


def invoke(*args: str, **env: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PARLEY_ENV": "production"}, "PARLEY_SECRET_KEY"),
        ({"PARLEY_ENV": "production", "PARLEY_SECRET_KEY": "short"}, "PARLEY_SECRET_KEY"),
        ({"PARLEY_MAX_BODY_BYTES": "-1"}, "PARLEY_MAX_BODY_BYTES"),
        ({"PARLEY_MESSAGES_PER_SECOND": "fast"}, "PARLEY_MESSAGES_PER_SECOND"),
        ({"PARLEY_ENV": "staging"}, "PARLEY_ENV"),
        ({"PARLEY_FRONT_DOOR_IDS": "my-front-door"}, "PARLEY_FRONT_DOOR_IDS"),
        ({"PARLEY_PUBLIC_WEBSOCKET_URL": "https://chat.example.com"}, "PARLEY_PUBLIC_WEBSOCKET_URL"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_bad_settings_exit_2_naming_the_variable(
    command: str, env: dict[str, str], named: str, uvicorn_runs: list[dict[str, Any]]
) -> None:
    result = invoke(command, **env)
    assert result.exit_code == 2, result.output
    assert "bad configuration" in result.output and named in result.output
    assert uvicorn_runs == []


def test_serve_hands_uvicorn_the_app_factory(uvicorn_runs: list[dict[str, Any]]) -> None:
    result = invoke("serve", "--port", "8123", PARLEY_MAX_FRAME_BYTES="1048576")
    assert result.exit_code == 0, result.output
    (call,) = uvicorn_runs
    assert (call["args"], call["factory"], call["port"]) == (("app.main:serve_app",), True, 8123)
    assert call["ws_max_size"] >= 1048576  # a frame at the limit reaches the gateway, which answers it


def test_serve_refuses_several_workers_on_the_memory_bus(uvicorn_runs: list[dict[str, Any]]) -> None:
    result = invoke("serve", "--workers", "2")
    assert result.exit_code == 2 and "PARLEY_BUS_URL" in result.output
    assert uvicorn_runs == []


def test_migrate_brings_a_new_database_to_the_latest_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}"
    result = invoke("migrate", PARLEY_DATABASE_URL=url)
    assert result.exit_code == 0, result.output
    assert "migrated" in result.output and (tmp_path / "parley.db").exists()
    assert invoke("migrate", PARLEY_DATABASE_URL=url).exit_code == 0  # safe to run again


# Unsupported backends: refused by the settings or by the backend factory, but always naming the variable.
DATABASE_SCHEME_ERROR = re.compile(r"database_url[\s\S]*scheme 'mongodb' is not supported", re.IGNORECASE)
BUS_SCHEME_ERROR = re.compile(r"bus_url[\s\S]*scheme 'kafka' is not supported", re.IGNORECASE)


def test_an_unsupported_database_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=DATABASE_SCHEME_ERROR):
        open_store(Settings(database_url="mongodb://localhost/parley"))


def test_an_unsupported_bus_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=BUS_SCHEME_ERROR):
        open_bus(Settings(bus_url="kafka://localhost:9092"), node_id="n1")


def test_the_app_does_not_start_on_an_unsupported_bus(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=BUS_SCHEME_ERROR):
        app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", bus_url="kafka://x"))
        with TestClient(app):
            pass


@pytest.mark.parametrize(
    ("command", "env", "named"),
    [
        ("migrate", {"PARLEY_DATABASE_URL": "mongodb://localhost/parley"}, "PARLEY_DATABASE_URL"),
        ("serve", {"PARLEY_DATABASE_URL": "mongodb://localhost/parley"}, "PARLEY_DATABASE_URL"),
        ("serve", {"PARLEY_BUS_URL": "kafka://localhost:9092"}, "PARLEY_BUS_URL"),
    ],
)
def test_the_command_refuses_unsupported_schemes_before_starting(
    command: str, env: dict[str, str], named: str, uvicorn_runs: list[dict[str, Any]]
) -> None:
    """Like any other bad setting: exit 2 with a message naming the variable, not a traceback from the
    database driver or a server that starts and then fails in every worker."""
    result = invoke(command, **env)
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert uvicorn_runs == []
