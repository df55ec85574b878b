"""deploy/compose run for real with podman-compose: PostgreSQL, Redis, the one-shot migration, two Parley
replicas and nginx, each started when the file's conditions allow (see compose.py); then a chat crosses both
replicas through nginx, and the stack goes away with its volumes.

No registry is reachable from the test machines, so the postgres, redis and nginx images are stand-ins built
from Debian packages (standins/Containerfile), with the interface of the official images the file names."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.containers.compose import COMPOSE_DIR, Stack, dependencies, load
from tests.containers.podman import ROOT, Container, Podman, build, inspect
from tests.support.servers import free_port
from tests.support.wsclient import WsClient

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]

STANDINS = Path(__file__).parent / "standins"
REPLICAS = ("parley-1", "parley-2")
PASSWORD = "correct horse battery staple"


def example_env() -> dict[str, str]:
    lines = (COMPOSE_DIR / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_compose_file_wires_the_stack() -> None:
    services = load()["services"]

    assert set(services) == {"postgres", "redis", "migrate", *REPLICAS, "nginx"}
    assert dependencies(services["migrate"]) == {"postgres": "service_healthy"}
    for replica in REPLICAS:
        assert dependencies(services[replica]) == {
            "migrate": "service_completed_successfully",
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }
    assert dependencies(services["nginx"]) == {replica: "service_healthy" for replica in REPLICAS}
    assert [name for name, service in services.items() if "ports" in service] == ["nginx"]
    assert all(service["read_only"] and "healthcheck" in service for service in services.values())
    for name in ("migrate", *REPLICAS):
        service = services[name]
        assert (COMPOSE_DIR / service["build"]["context"]).resolve() == ROOT
        assert "BASE_IMAGE" in service["build"]["args"] and service["env_file"] == ".env"
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_the_example_env_file_names_every_required_variable() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", (COMPOSE_DIR / "compose.yaml").read_text()))
    assert required == {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}
    assert required | {"PARLEY_SECRET_KEY"} <= set(example_env())


def test_the_example_secret_key_is_refused_in_production(containers: Podman) -> None:
    settings = ("--env", "PARLEY_ENV=production", "--env", f"PARLEY_SECRET_KEY={example_env()['PARLEY_SECRET_KEY']}")
    refused = containers.run("--read-only", *settings, command=("migrate",))
    assert refused.returncode == 2 and "PARLEY_SECRET_KEY" in refused.stderr, refused.stderr


@pytest.fixture(scope="session")
def standin_images(podman_base: str) -> dict[str, str]:
    """The stand-ins for the official postgres, redis and nginx images, as compose.yaml's image variables."""
    images = {}
    for name in ("postgres", "redis", "nginx"):
        images[f"{name.upper()}_IMAGE"] = tag = f"localhost/parley-standin-{name}"
        build(STANDINS, tag, base=podman_base, target=name)
    return images


@pytest.fixture(scope="module")
def stack(
    parley_image: str,
    standin_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    figures: dict[str, str],
) -> Iterator[Stack]:
    """The stack up and healthy, on a project name and published port of its own, with fresh secrets."""
    env = {key: secrets.token_hex(24) for key in example_env()} | {"PARLEY_IMAGE": parley_image, **standin_images}
    project = f"parley-test-{uuid.uuid4().hex[:8]}"
    running = Stack.prepare(tmp_path_factory.mktemp("compose"), project, free_port(), env)
    try:
        started = time.monotonic()
        with running.logs_on_failure():
            running.up()
        figures["compose up"] = f"{time.monotonic() - started:.1f} s (until every service is healthy)"
        yield running
    finally:
        running.down()
    assert running.remnants() == [], "down --volumes left these behind"


def test_every_service_runs_on_a_read_only_root_and_the_migration_succeeded(stack: Stack) -> None:
    for name in stack.services:
        assert inspect(stack.container(name).name)["HostConfig"]["ReadonlyRootfs"] is True, name
    assert inspect(stack.container("migrate").name)["State"]["ExitCode"] == 0
    for replica in REPLICAS:
        assert stack.container(replica).exec("id", "-u").strip() == "10001"


async def test_a_chat_crosses_both_replicas_through_nginx(stack: Stack) -> None:
    with stack.logs_on_failure():
        async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
            assert (await http.get("/readyz")).status_code == 200
            assert (await http.get("/metrics")).status_code == 404, "metrics stay on the backend network"
            alice, bob = await register(http), await register(http)
            room_id = await create_group(http, alice, bob)
        await chat_across_replicas(stack, alice, bob, room_id)


async def chat_across_replicas(stack: Stack, alice: dict[str, Any], bob: dict[str, Any], room_id: str) -> None:
    """Alice and Bob connect through nginx until they are on different replicas; Alice sends, Bob receives."""
    replicas = {name: stack.container(name) for name in REPLICAS}
    ws_url = stack.url.replace("http", "ws", 1) + "/ws"
    opened: list[WsClient] = []
    try:
        alice_ws, alice_on = await connect(ws_url, alice["token"], replicas, opened)
        bob_ws, bob_on = await connect(ws_url, bob["token"], replicas, opened)
        # least_conn sends the second socket to the replica holding none; a few more before calling it a failure.
        while bob_on == alice_on and len(opened) < 5:
            bob_ws, bob_on = await connect(ws_url, bob["token"], replicas, opened)
        assert bob_on != alice_on, "every WebSocket landed on one replica"

        sent = await alice_ws.send_message(room_id, f"from {alice_on} to {bob_on}")
        received = await bob_ws.wait_for_type("message")
        assert received["message"] == sent
    finally:
        for client in opened:
            await client.close()


async def register(http: httpx.AsyncClient) -> dict[str, Any]:
    username = f"compose{uuid.uuid4().hex[:10]}"
    answer = await http.post("/api/v1/auth/register", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    account: dict[str, Any] = answer.json()
    return account


async def create_group(http: httpx.AsyncClient, owner: dict[str, Any], member: dict[str, Any]) -> str:
    created = await http.post(
        "/api/v1/rooms", headers={"Authorization": f"Bearer {owner['token']}"},
        json={"kind": "group", "name": "compose", "members": [member["user"]["username"]]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    room_id: str = created.json()["id"]
    return room_id


async def connect(
    ws_url: str, token: str, replicas: dict[str, Container], opened: list[WsClient]
) -> tuple[WsClient, str]:
    """Open a WebSocket through nginx; return it and the replica whose `parley_connections` it raised."""
    before = await asyncio.to_thread(connection_counts, replicas)
    client = await WsClient.connect(ws_url, token)
    opened.append(client)
    assert (await client.ping())["type"] == "pong"  # answered once the replica has registered the socket
    after = await asyncio.to_thread(connection_counts, replicas)
    landed = [name for name in replicas if after[name] == before[name] + 1]
    assert len(landed) == 1, f"connections before {before}, after {after}"
    return client, landed[0]


def connection_counts(replicas: dict[str, Container]) -> dict[str, float]:
    return {name: container.metrics()["parley_connections"] for name, container in replicas.items()}
