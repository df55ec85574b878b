"""Node liveness in Redis, which presence across nodes rests on: a node counts while its liveness key lives."""

from __future__ import annotations

import asyncio

import pytest

from app.bus.base import Event
from app.bus.redis import RedisBus
from tests.conftest import REDIS_URL, bus_prefix

pytestmark = pytest.mark.cluster

HEARTBEAT_SECONDS = 0.5  # PARLEY_HEARTBEAT_SECONDS accepts any value above 0


def _ignore(event: Event) -> None:
    pass


async def test_a_live_node_with_a_sub_second_heartbeat_stays_counted() -> None:
    prefix = bus_prefix()
    this, other = (
        RedisBus(REDIS_URL, node_id=name, prefix=prefix, liveness_seconds=HEARTBEAT_SECONDS) for name in "ab"
    )
    await this.start(_ignore)
    await other.start(_ignore)
    try:
        await this.connected("alice")
        await asyncio.sleep(4 * HEARTBEAT_SECONDS)
        assert await other.online(["alice"]) == {"alice"}
    finally:
        await this.close()
        await other.close()
