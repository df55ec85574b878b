"""The dev Kubernetes objects of `infra/kubernetes/manifests.py` run for real with `podman kube play
--network=host` and the image built from the Dockerfile: the migration Job's pod migrates an empty database,
two server pods become ready, and a message sent to one pod reaches a member connected to the other.

Podman is not a cluster; what the test changes, and why (docs/containers.md, "How podman differs"):
- Kinds: podman 4.3 plays Pod, Deployment, PersistentVolumeClaim and ConfigMap. The migration Job runs as a
  Pod of its template (restartPolicy Never) and the test waits for it to exit 0 before the servers start, as
  Pulumi does. Services, the Ingress, NetworkPolicies, the Namespace are not played.
- Secrets: podman reads a `secretRef` from its own secret store, as JSON of base64 values (a `kind: Secret` in
  the played file is stored in a form podman 4.3 cannot read back), so the test puts it there.
- Host network: Service names do not resolve, so the Secret's URLs point at 127.0.0.1; two replicas would bind
  one port, so the Deployment is played as two Deployments of one replica, each on its own loopback port; its
  `ports` go (podman refuses port mappings on the host network).
- Probes: podman turns a liveness probe into a `curl` health check run inside the container, and the image has
  neither curl nor a shell, so the probes go and the test polls /readyz as the kubelet would.
- Datastores: the machine's own PostgreSQL and Redis stand in for the dev PostgreSQL StatefulSet (a kind podman
  does not play) and Redis Deployment (whose official images cannot be pulled here; both would also collide
  with the machine's ports on the host network). The test gets an empty database and a Redis key prefix of
  its own."""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from infra.kubernetes.config import APP_NAME, preset
from infra.kubernetes.manifests import manifests
from infra.kubernetes.objects import Manifest
from tests.conftest import REDIS_URL
from tests.containers.podman import inspect, podman, wait_ready
from tests.support.databases import POSTGRES, SESSION
from tests.support.servers import free_port
from tests.support.wsclient import WsClient

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]

PLAYED = {"ConfigMap", "Deployment", "PersistentVolumeClaim", "Pod"}
NOT_PLAYED = {"Namespace", "Secret", "Service", "Ingress", "NetworkPolicy", "StatefulSet"}
PASSWORD = "correct horse battery staple"


@dataclasses.dataclass
class Play:
    """The dev objects as podman plays them, under names of this test alone."""

    image: str
    database_url: str
    suffix: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex[:8])
    ports: tuple[int, int] = dataclasses.field(default_factory=lambda: (free_port(), free_port()))

    @property
    def secret_name(self) -> str:
        return f"{APP_NAME}-kube-play-{self.suffix}"

    def server_names(self) -> list[str]:
        return [f"{APP_NAME}-{self.suffix}-{side}" for side in ("a", "b")]

    def objects(self) -> dict[str, list[Manifest]]:
        """`migrate` (the ConfigMap and the Job's pod) and `servers` (the ConfigMap and two Deployments); the
        Secret's values as podman's secret store wants them; and what podman does not play."""
        found = manifests(dataclasses.replace(preset("dev"), image=self.image))
        kinds = {m["kind"] for m in found}
        assert kinds <= PLAYED | NOT_PLAYED | {"Job"}, f"decide how podman plays {kinds - PLAYED - NOT_PLAYED}"
        config_map = _one(found, "ConfigMap", APP_NAME)
        config_map["data"] |= {"PARLEY_BUS_PREFIX": f"parley-kube-{self.suffix}", "PARLEY_LOG_LEVEL": "WARNING"}
        job = _one(found, "Job", f"{APP_NAME}-migrate")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{APP_NAME}-migrate-{self.suffix}",
                "labels": job["spec"]["template"]["metadata"]["labels"],
            },
            "spec": self._retarget(job["spec"]["template"]["spec"]),
        }
        deployment = _one(found, "Deployment", APP_NAME)
        servers = [
            self._single(deployment, name, port) for name, port in zip(self.server_names(), self.ports, strict=True)
        ]
        return {"migrate": [config_map, pod], "servers": [config_map, *servers]}

    def secret_values(self) -> dict[str, str]:
        values = dict(_one(manifests(preset("dev")), "Secret", APP_NAME)["stringData"])
        values |= {"PARLEY_DATABASE_URL": self.database_url, "PARLEY_BUS_URL": REDIS_URL}
        return {name: base64.b64encode(value.encode()).decode() for name, value in values.items()}

    def _retarget(self, pod_spec: dict[str, Any]) -> dict[str, Any]:
        spec = copy.deepcopy(pod_spec)
        for container in spec["containers"]:
            for source in container["envFrom"]:
                if "secretRef" in source:
                    source["secretRef"]["name"] = self.secret_name
        return spec

    def _single(self, deployment: Manifest, name: str, port: int) -> Manifest:
        single = copy.deepcopy(deployment)
        single["metadata"]["name"] = name
        single["spec"]["replicas"] = 1
        single["spec"]["template"]["spec"] = spec = self._retarget(single["spec"]["template"]["spec"])
        (container,) = spec["containers"]
        for field in ("ports", "startupProbe", "livenessProbe", "readinessProbe"):
            del container[field]
        # The host's network is shared, so each server binds a port of its own on loopback only.
        container["args"] = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        return single


def _one(found: list[Manifest], kind: str, name: str) -> Manifest:
    (manifest,) = [m for m in found if m["kind"] == kind and m["metadata"]["name"] == name]
    return manifest


async def _admin(*statements: str) -> None:
    engine = create_async_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(sa.text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    """A database with no schema at all: the migration Job's pod has to make it."""
    name = f"{SESSION}kube_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def play(parley_image: str, empty_database: str, tmp_path: Path) -> Iterator[Play]:
    played = Play(image=parley_image, database_url=empty_database)
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps(played.secret_values()))
    podman("secret", "create", played.secret_name, str(secret_file))
    files = []
    for name, objects in played.objects().items():
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(yaml.safe_dump_all(objects, sort_keys=False))
    yield played
    for path in reversed(files):
        podman("kube", "play", "--down", str(path), check=False)
    podman("secret", "rm", played.secret_name, check=False)


def _wait_exited(container: str, timeout: float) -> int:
    return int(podman("wait", container, timeout=timeout).stdout.strip())


async def _account(http: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
    username = f"kube{uuid.uuid4().hex[:10]}"
    answer = await http.post(f"{base_url}/api/v1/auth/register", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_dev_objects_run_under_podman_and_a_chat_crosses_pods(
    play: Play, tmp_path: Path, figures: dict[str, str]
) -> None:
    podman("kube", "play", "--network=host", str(tmp_path / "migrate.yaml"))
    migrate = f"{APP_NAME}-migrate-{play.suffix}-migrate"
    assert _wait_exited(migrate, timeout=120) == 0, podman("logs", migrate, check=False).stderr
    assert "to the latest schema" in podman("logs", migrate).stdout

    started = time.monotonic()
    podman("kube", "play", "--network=host", str(tmp_path / "servers.yaml"))
    for port in play.ports:
        wait_ready(f"http://127.0.0.1:{port}")
    figures["kube play: 2 server pods, start to ready"] = f"{time.monotonic() - started:.1f} s"

    containers = [f"{name}-pod-0-{APP_NAME}" for name in play.server_names()]
    for container in containers:
        assert inspect(container)["Config"]["User"] == "10001:10001"
        assert inspect(container)["HostConfig"]["ReadonlyRootfs"] is True
        assert podman("top", container, "capeff").stdout.split()[-1] == "none"
    bob_token = asyncio.run(_chat_across_pods(play.ports))

    # SIGTERM: the server closes its sockets (going away, or uvicorn's service restart) and exits 0, well
    # within the grace period.
    pod_b = f"{play.server_names()[1]}-pod-0"
    assert asyncio.run(_close_code_when_stopped(play.ports[1], bob_token, pod_b)) in (1001, 1012)
    assert inspect(containers[1])["State"]["ExitCode"] == 0


async def _chat_across_pods(ports: tuple[int, int]) -> str:
    """Alice on pod A sends to a room whose member Bob is connected to pod B; returns Bob's token."""
    pod_a, pod_b = (f"http://127.0.0.1:{port}" for port in ports)
    async with httpx.AsyncClient(timeout=30) as http:
        alice, bob = await _account(http, pod_a), await _account(http, pod_b)
        answer = await http.post(
            f"{pod_a}/api/v1/rooms",
            headers={"Authorization": f"Bearer {alice['token']}"},
            json={"kind": "group", "name": "kube", "members": [bob["user"]["username"]]},
        )
        assert answer.status_code == 201, answer.text
        room_id = answer.json()["id"]
        sender = await WsClient.connect(f"ws://127.0.0.1:{ports[0]}/ws", alice["token"])
        receiver = await WsClient.connect(f"ws://127.0.0.1:{ports[1]}/ws", bob["token"])
        try:
            for client in (sender, receiver):
                assert (await client.ping())["type"] == "pong"
            sent = await sender.send_message(room_id, "from pod a to pod b")
            received = await receiver.wait_for_type("message")
            assert received["message"]["id"] == sent["id"]
            assert received["message"]["body"] == "from pod a to pod b"
        finally:
            await sender.close()
            await receiver.close()
    token: str = bob["token"]
    return token


async def _close_code_when_stopped(port: int, token: str, pod: str) -> int | None:
    client = await WsClient.connect(f"ws://127.0.0.1:{port}/ws", token)
    assert (await client.ping())["type"] == "pong"
    started = time.monotonic()
    await asyncio.to_thread(podman, "pod", "stop", "--time", "30", pod)
    code = await client.wait_closed()
    assert time.monotonic() - started < 20
    return code
