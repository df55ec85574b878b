"""Podman for the container tests: the local base image, image builds that reach PyPI as pip on this machine
does, containers removed with their volumes, health checks run on demand, and metrics read from inside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
# No registry is reachable from the test machines, so the base is Debian's python3 from mmdebstrap, unless
# PARLEY_TEST_BASE_IMAGE names another (python:3.12-slim where a registry is reachable).
LOCAL_BASE_IMAGE = "localhost/parley-base"
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
# Debian's CA bundle, in both base images too: pip in the build trusts what the host trusts.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


def base_image(workdir: Path) -> str:
    """The base image to build on: PARLEY_TEST_BASE_IMAGE, or the local Debian base, made if missing."""
    if chosen := os.environ.get("PARLEY_TEST_BASE_IMAGE"):
        return chosen
    if podman("image", "exists", LOCAL_BASE_IMAGE, check=False).returncode != 0:
        tarball = workdir / "base.tar"
        command = ["mmdebstrap", "--variant=apt", f"--include={BASE_PACKAGES}", "bookworm", str(tarball)]
        subprocess.run(command, check=True, capture_output=True, timeout=900)
        podman("import", str(tarball), LOCAL_BASE_IMAGE, timeout=300)
    return LOCAL_BASE_IMAGE


def build(context: Path, tag: str, *, base: str, target: str | None = None) -> float:
    """Build `context` as `tag` on `base` with host networking and return the seconds it took. Docker format,
    since the OCI format drops HEALTHCHECK."""
    options = ["--format", "docker", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "--tag", tag]
    options += ["--target", target] if target else []
    started = time.monotonic()
    podman("build", *options, *pip_options(), str(context), timeout=1800)
    return time.monotonic() - started


def pip_options() -> list[str]:
    """Let pip in a build reach its index as pip on this machine does: the host's CA bundle is mounted over the
    image's (build mounts never reach a layer), and an index URL set on this machine is passed when the build
    can reach it. Local folders the host's pip reads (find-links, file:// indexes) are left out: the build
    cannot see them, and PyPI has everything the image needs."""
    options = []
    bundle = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or CA_BUNDLE
    if os.path.isfile(bundle):
        options += ["--volume", f"{bundle}:{CA_BUNDLE}:ro"]
    index = host_pip_config().get("index-url", "")
    if index.startswith(("http://", "https://")):
        options += ["--build-arg", f"PIP_INDEX_URL={index}"]
    return options


def host_pip_config() -> dict[str, str]:
    """pip's settings on this machine (files and PIP_* variables), keyed by option name."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    settings = {}
    for line in listed.stdout.splitlines():
        key, _, value = line.partition("=")
        settings[key.rsplit(".", 1)[-1]] = value.strip("'")
    return settings


def image_size(image: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)


def inspect(name: str) -> dict[str, Any]:
    """`podman inspect` of a container or an image."""
    inspected: dict[str, Any] = json.loads(podman("inspect", name).stdout)[0]
    return inspected


@dataclass
class Container:
    name: str

    def exec(self, *command: str) -> str:
        return podman("exec", self.name, *command).stdout

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def healthcheck(self) -> int:
        """Run the container's health check once (podman schedules them with systemd, which the test machines
        lack): 0 healthy, 1 unhealthy, 125 when it cannot run (the container stopped)."""
        return podman("healthcheck", "run", self.name, check=False, timeout=60).returncode

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while (code := self.healthcheck()) != 0:
            if code == 125 and not self.running():
                raise AssertionError(f"{self.name} stopped before it was healthy:\n{self.logs()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not healthy within {timeout}s:\n{self.logs()[-4000:]}")
            time.sleep(0.5)

    def running(self) -> bool:
        return podman("inspect", "--format", "{{.State.Running}}", self.name, check=False).stdout.strip() == "true"

    def metrics(self) -> dict[str, float]:
        """Every unlabelled sample of the Parley server's /metrics, read inside the container."""
        script = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/metrics').read().decode())"
        families = text_string_to_metric_families(self.exec("python3", "-c", script))
        return {s.name: s.value for family in families for s in family.samples if not s.labels}


@dataclass
class Podman:
    """What one test starts, all removed afterwards (with their volumes) whatever the outcome."""

    image: str
    containers: list[Container] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def volume(self) -> str:
        name = f"parley-test-{uuid.uuid4().hex[:8]}"
        podman("volume", "create", name)
        self.volumes.append(name)
        return name

    def run(self, *options: str, command: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """Run the image to completion; the caller reads the exit code."""
        return podman("run", "--rm", *options, self.image, *command, check=False, timeout=300)

    def start(self, *options: str, command: tuple[str, ...] = ()) -> Container:
        container = Container(f"parley-test-{uuid.uuid4().hex[:8]}")
        self.containers.append(container)
        podman("run", "--detach", "--name", container.name, *options, self.image, *command)
        return container

    def remove_all(self) -> None:
        for container in self.containers:
            podman("rm", "--force", "--volumes", container.name, check=False)
        for volume in self.volumes:
            podman("volume", "rm", "--force", volume, check=False)


def wait_ready(base_url: str, timeout: float = 60.0) -> None:
    """Poll `/readyz` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{base_url}/readyz not 200 within {timeout}s")
