"""Fixtures of the cluster tests: a three-node deployment behind nginx or HAProxy (a test runs behind both
unless it parametrizes `lb`), and the figures the tests measure, printed at the end of the run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.deployment import Deployment
from tests.support import databases

NODES = 3
FIGURES: list[str] = []


@pytest.fixture(params=["nginx", "haproxy"])
def lb(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def nodes() -> int:
    """How many nodes `deployment` starts; a test that needs fewer parametrizes this."""
    return NODES


@pytest.fixture
async def deployment(lb: str, nodes: int, tmp_path: Path, postgres_template: None) -> AsyncIterator[Deployment]:
    started = Deployment(database_url=await databases.new_postgres(), lb=lb, folder=tmp_path)
    try:
        yield await started.start(nodes)
    finally:
        await started.stop()


@pytest.fixture
def report() -> list[str]:
    """Lines a test adds here are printed under "cluster figures" at the end of the run."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("cluster figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
