"""Fixtures for tests that talk to real `parley serve` processes (e2e and cluster): a pytest plugin that
tests/conftest.py loads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.e2e.harness import Connector


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
async def connect() -> AsyncIterator[Connector]:
    """Opens WebSocket clients and closes every one after the test."""
    connector = Connector()
    yield connector
    await connector.close_all()
