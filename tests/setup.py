"""`make test` runs this first: install what the test tiers need beyond Python packages, and check the
database and cache servers the tests talk to are up. Idempotent and quick when all is in place."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from urllib.parse import urlsplit

# Debian packages the tiers need, by the program that proves each is installed.
DEBIAN_PACKAGES = {
    "/usr/bin/chromium": "chromium",
    "/usr/sbin/nginx": "nginx",
    "/usr/sbin/haproxy": "haproxy",
    "/usr/bin/openssl": "openssl",
    "/usr/bin/podman": "podman",
    "/usr/sbin/runc": "runc",
    "/usr/lib/podman/netavark": "netavark",
    "/usr/lib/podman/aardvark-dns": "aardvark-dns",
    "/usr/sbin/xtables-nft-multi": "iptables",
    "/usr/bin/mmdebstrap": "mmdebstrap",
    "/usr/bin/catatonit": "catatonit",  # the pause process of `podman kube play` pods
    "/usr/bin/dot": "graphviz",
    "/usr/bin/groovy": "groovy",
    "/usr/bin/shellcheck": "shellcheck",
}
# Podman's defaults assume systemd and crun; containers.conf makes it run on this machine (design.md).
CONTAINERS_CONF = "/etc/containers/containers.conf"
CONTAINERS_CONF_TEXT = """\
[containers]
default_ulimits = []

[engine]
runtime = "runc"
"""
# Installing nginx or haproxy starts the distribution's service where the init system lets it (nginx's default
# site takes port 80). The deploy tests run their own nginx and HAProxy on spare ports from the configurations
# they render, so those services are stopped again to leave port 80 free and the machine as it was.
STOP_AFTER_INSTALL = ("nginx", "haproxy")
# The servers the tests use, where PARLEY_TEST_*_URL (tests/support/databases.py, tests/conftest.py) put them.
SERVICE_URLS = {
    "PostgreSQL": os.environ.get("PARLEY_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432"),
    "MariaDB": os.environ.get("PARLEY_TEST_MYSQL_URL", "mysql://127.0.0.1:3306"),
    "Redis": os.environ.get("PARLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
}
DEFAULT_PORTS = {"PostgreSQL": 5432, "MariaDB": 3306, "Redis": 6379}
SERVICES = {
    name: (urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or DEFAULT_PORTS[name])
    for name, url in SERVICE_URLS.items()
}


def missing_packages() -> list[str]:
    return [package for path, package in DEBIAN_PACKAGES.items() if not os.path.exists(path)]


def install(packages: list[str]) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(
            f"tests need these Debian packages: {' '.join(packages)}; install them (as root: apt-get install -y ...)"
        )
    print(f"installing {' '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=env)
    for service in STOP_AFTER_INSTALL:
        if service in packages:
            subprocess.run(["service", service, "stop"], check=False, capture_output=True)


def configure_podman() -> None:
    """Write containers.conf unless the machine has one already (then it is the operator's)."""
    if os.path.exists(CONTAINERS_CONF) or not os.path.exists("/usr/bin/podman") or os.geteuid() != 0:
        return
    os.makedirs(os.path.dirname(CONTAINERS_CONF), exist_ok=True)
    with open(CONTAINERS_CONF, "w") as conf:
        conf.write(CONTAINERS_CONF_TEXT)


def unreachable_services() -> list[str]:
    down = []
    for name, address in SERVICES.items():
        try:
            socket.create_connection(address, timeout=2).close()
        except OSError:
            down.append(f"{name} on {address[0]}:{address[1]}")
    return down


def main() -> None:
    if packages := missing_packages():
        install(packages)
    configure_podman()
    if down := unreachable_services():
        sys.exit(f"tests need these servers running: {', '.join(down)} (see README, 'Running the tests')")


if __name__ == "__main__":
    main()
