"""`make test` runs this first: install what the test tiers need beyond Python packages, and check the
database and cache servers the tests talk to are up. Idempotent and quick when all is in place."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

# Debian packages the tiers need, by the program that proves each is installed.
DEBIAN_PACKAGES = {"/usr/bin/chromium": "chromium"}
SERVICES = {"PostgreSQL": ("127.0.0.1", 5432), "MariaDB": ("127.0.0.1", 3306), "Redis": ("127.0.0.1", 6379)}


def missing_packages() -> list[str]:
    return [package for path, package in DEBIAN_PACKAGES.items() if not os.path.exists(path)]


def install(packages: list[str]) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"tests need these Debian packages: {' '.join(packages)}; install them (as root: apt-get install -y ...)")
    print(f"installing {' '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=env)


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
    if down := unreachable_services():
        sys.exit(f"tests need these servers running: {', '.join(down)} (see README, 'Running the tests')")


if __name__ == "__main__":
    main()
