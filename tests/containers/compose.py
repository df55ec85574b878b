"""deploy/compose run by podman-compose, one service at a time in the order its `depends_on` conditions set.

podman-compose waits for `service_healthy` only on podman 4.6 and later, and podman runs health checks from
systemd timers, which the test machines (podman 4.3, no systemd) lack. So `up` honours the file's conditions
itself: before it starts a service, each dependency is healthy (its health check, run here, passes), has
exited 0, or has started, as the file asks. A Compose that honours them (Docker Compose, or podman-compose on
a newer podman) does the same with one `up -d`."""

from __future__ import annotations

import contextlib
import graphlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.containers.podman import Container, inspect, podman

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "compose"
PODMAN_COMPOSE = str(Path(sys.executable).with_name("podman-compose"))


def load(path: Path = COMPOSE_DIR / "compose.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def dependencies(service: dict[str, Any]) -> dict[str, str]:
    """A service's `depends_on` as {service: condition}, from either the short or the long form."""
    declared = service.get("depends_on", {})
    if isinstance(declared, list):
        return {name: "service_started" for name in declared}
    return {name: rule.get("condition", "service_started") for name, rule in declared.items()}


@dataclass
class Stack:
    """A copy of deploy/compose in `project_dir` with its own `.env`, run as Compose project `project` with
    nginx published on `port`."""

    project_dir: Path
    project: str
    port: int
    volumes: set[str] = field(default_factory=set)

    @classmethod
    def prepare(cls, project_dir: Path, project: str, port: int, env: dict[str, str]) -> Stack:
        for name in ("compose.yaml", "nginx.conf"):
            shutil.copy(COMPOSE_DIR / name, project_dir / name)
        env = {**env, "PARLEY_HTTP_PORT": str(port)}
        (project_dir / ".env").write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        return cls(project_dir, project, port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = load(self.project_dir / "compose.yaml")["services"]
        return services

    def compose(self, *args: str, timeout: float = 300) -> str:
        command = [PODMAN_COMPOSE, "--project-name", self.project, "--file", "compose.yaml", *args]
        result = subprocess.run(command, cwd=self.project_dir, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"podman-compose {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def up(self, timeout: float = 240.0) -> None:
        """Start every service once its dependencies meet their conditions; return when every long-running
        service with a health check is healthy."""
        deadline = time.monotonic() + timeout
        services = self.services
        order = graphlib.TopologicalSorter({name: dependencies(spec) for name, spec in services.items()})
        for name in order.static_order():
            for dependency, condition in dependencies(services[name]).items():
                self._wait_for(dependency, condition, deadline)
            self.compose("up", "--detach", "--no-deps", name)
        for name, spec in services.items():
            if not spec.get("healthcheck", {}).get("disable"):
                self.container(name).wait_healthy(deadline - time.monotonic())

    def _wait_for(self, service: str, condition: str, deadline: float) -> None:
        container = self.container(service)
        if condition == "service_healthy":
            container.wait_healthy(deadline - time.monotonic())
        elif condition == "service_completed_successfully":
            code = podman("wait", container.name, timeout=max(1.0, deadline - time.monotonic())).stdout.strip()
            assert code == "0", f"{service} exited with {code}:\n{container.logs()[-4000:]}"

    def container(self, service: str) -> Container:
        names = self._containers(f"label=com.docker.compose.service={service}")
        assert len(names) == 1, f"{service}: containers {names}"
        return Container(names[0])

    def _containers(self, *filters: str) -> list[str]:
        options = [f"--filter=label=io.podman.compose.project={self.project}"]
        options += [f"--filter={f}" for f in filters]
        return podman("ps", "--all", *options, "--format", "{{.Names}}").stdout.split()

    def down(self) -> None:
        """Remove the project's containers with their anonymous volumes (podman-compose leaves those), then its
        named volumes, networks and pod."""
        for name in self._containers():
            self.volumes |= {m["Name"] for m in inspect(name)["Mounts"] if m["Type"] == "volume"}
            podman("rm", "--force", "--volumes", name, check=False)
        self.compose("down", "--volumes", timeout=120)

    def remnants(self) -> list[str]:
        """What is left of the project: containers, volumes, networks, pods."""
        volumes = [v for v in sorted(self.volumes) if podman("volume", "exists", v, check=False).returncode == 0]
        networks = podman("network", "ls", "--format", "{{.Name}}").stdout.split()
        pods = podman("pod", "ls", "--format", "{{.Name}}").stdout.split()
        named = [name for name in networks + pods if self.project in name]
        return self._containers() + volumes + named

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """Add the end of every container's log to an assertion that fails inside."""
        try:
            yield
        except AssertionError as error:
            logs = "\n".join(f"--- {name}\n{Container(name).logs()[-3000:]}" for name in self._containers())
            raise AssertionError(f"{error}\n{logs}") from error
