"""The image of the root Dockerfile, built and run with podman: lint clean, unprivileged on a read-only root,
healthy, migrating only when told to, and carrying the service's runtime dependencies and nothing else."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.containers.podman import ROOT, Podman, inspect, podman, wait_ready
from tests.support.servers import free_port

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]

HADOLINT = str(Path(sys.executable).with_name("hadolint"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# A read-only root with the two places Parley may write: /tmp and the data volume.
READ_ONLY = ("--read-only", "--tmpfs", "/tmp")
TOOLS = re.compile(r"^(pulumi.*|pytest.*|playwright|hypothesis|ruff|mypy|hadolint.*|podman-compose)$")
LIST_TABLES = (
    "import sqlite3; "
    "print(*sqlite3.connect('/data/parley.db').execute(\"SELECT name FROM sqlite_master WHERE type = 'table'\"))"
)


def requirement_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def serve(containers: Podman, data: str) -> tuple[str, float]:
    """Start the server on a read-only root with `data` as /data; its URL and the seconds from `podman run` to a
    200 from /readyz."""
    port = free_port()
    started = time.monotonic()
    containers.start(*READ_ONLY, "--volume", f"{data}:/data", "--publish", f"127.0.0.1:{port}:8000")
    base_url = f"http://127.0.0.1:{port}"
    wait_ready(base_url)
    return base_url, time.monotonic() - started


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([HADOLINT, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_described_by_its_metadata(parley_image: str) -> None:
    image = inspect(parley_image)
    config = image["Config"]
    assert config["User"] == "10001:10001"
    assert (config["Entrypoint"], config["Cmd"]) == (["parley"], ["serve", "--host", "0.0.0.0", "--port", "8000"])
    assert list(config["ExposedPorts"]) == ["8000/tcp"] and list(config["Volumes"]) == ["/data"]
    assert {"PYTHONDONTWRITEBYTECODE=1", "PARLEY_DATABASE_URL=sqlite+aiosqlite:////data/parley.db"} <= set(
        config["Env"]
    )
    assert config["Labels"]["org.opencontainers.image.version"] == PYPROJECT["version"]
    assert config["Labels"]["org.opencontainers.image.title"] == "Parley"
    assert "/healthz" in image["Healthcheck"]["Test"][-1], "HEALTHCHECK survives only in the docker format"


def test_the_image_serves_on_a_read_only_root_as_an_unprivileged_user(
    containers: Podman, figures: dict[str, str]
) -> None:
    data = containers.volume()
    migrated = containers.run(*READ_ONLY, "--volume", f"{data}:/data", command=("migrate",))
    assert migrated.returncode == 0, migrated.stderr

    base_url, seconds = serve(containers, data)
    figures["start to ready"] = f"{seconds:.2f} s (podman run until /readyz answers 200)"

    (server,) = containers.containers
    assert server.exec("id", "-u").strip() == "10001"
    assert inspect(server.name)["HostConfig"]["ReadonlyRootfs"] is True
    assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base_url}/readyz").json() == {"status": "ready", "checks": {"store": "ok", "bus": "ok"}}
    registered = httpx.post(
        f"{base_url}/api/v1/auth/register", json={"username": "alice", "password": "correct horse battery"}
    )
    assert registered.status_code == 201, registered.text
    assert "users" in server.exec("python3", "-c", LIST_TABLES)


def test_every_module_is_compiled_in_the_image(containers: Podman) -> None:
    """A read-only root cannot take bytecode at run time, so the build must have written all of it."""
    script = (
        "import importlib.util, pathlib; "
        "print(*(p for p in pathlib.Path('/opt/venv/lib').rglob('*.py') "
        "if not pathlib.Path(importlib.util.cache_from_source(str(p))).exists()))"
    )
    listed = containers.run("--entrypoint", "python3", command=("-c", script))
    assert listed.returncode == 0 and listed.stdout.strip() == "", listed.stdout[:2000] + listed.stderr


def test_serve_never_migrates_and_migrate_brings_sqlite_in_the_volume_up_to_date(containers: Podman) -> None:
    data = containers.volume()
    serve(containers, data)
    (server,) = containers.containers
    podman("stop", server.name)

    def tables() -> str:
        listed = containers.run("--volume", f"{data}:/data", "--entrypoint", "python3", command=("-c", LIST_TABLES))
        assert listed.returncode == 0, listed.stderr
        return listed.stdout

    assert "alembic_version" not in tables(), "serve must not migrate: a rollout would race on the schema"
    for _ in range(2):
        migrated = containers.run(*READ_ONLY, "--volume", f"{data}:/data", command=("migrate",))
        assert migrated.returncode == 0, migrated.stderr
        assert "migrated sqlite+aiosqlite:////data/parley.db to the latest schema" in migrated.stdout
    assert {"alembic_version", "users", "rooms", "messages"} <= set(re.findall(r"'(\w+)'", tables()))


def test_the_health_check_reports_healthy(containers: Podman) -> None:
    server = containers.start(*READ_ONLY, "--volume", f"{containers.volume()}:/data")
    server.wait_healthy(timeout=30)
    health = inspect(server.name)["State"]["Health"]
    assert health["Status"] == "healthy", health


def test_the_image_holds_the_runtime_dependencies_and_no_tools(containers: Podman) -> None:
    listed = containers.run("--entrypoint", "pip", command=("list", "--format=json"))
    assert listed.returncode == 0, listed.stderr
    installed = {requirement_name(package["name"]) for package in json.loads(listed.stdout)}
    assert "parley" in installed
    assert {requirement_name(r) for r in PYPROJECT["dependencies"]} <= installed
    assert sorted(name for name in installed if TOOLS.match(name)) == []
