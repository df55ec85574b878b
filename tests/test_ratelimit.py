"""The per-user send budget: in memory for one process, in Redis for every node of a deployment."""

from __future__ import annotations

import pytest

from app.errors import RateLimited
from app.ratelimit import SendLimiter
from tests.conftest import REDIS_URL, bus_prefix


async def sent(limiters: list[SendLimiter], attempts: int, user: str = "alice") -> int:
    """How many of `attempts` sends, spread over `limiters` in turn, were let through."""
    allowed = 0
    for attempt in range(attempts):
        try:
            await limiters[attempt % len(limiters)].check(user)
            allowed += 1
        except RateLimited as error:
            assert 0 < error.retry_after <= 25
    return allowed


async def test_memory_budget_is_the_burst_then_refused() -> None:
    limiter = SendLimiter(rate=0.2, burst=5)
    assert await sent([limiter], 8) == 5
    assert await sent([limiter], 2, user="bob") == 2


async def test_redis_budget_is_shared_by_every_node() -> None:
    prefix = bus_prefix()
    nodes = [SendLimiter(rate=0.2, burst=5, redis_url=REDIS_URL, prefix=prefix) for _ in range(3)]
    assert await sent(nodes, 9) == 5


async def test_unreachable_redis_lets_sends_through() -> None:
    limiter = SendLimiter(rate=1, burst=1, redis_url="redis://127.0.0.1:1/0")
    assert await sent([limiter], 3) == 3


@pytest.mark.parametrize(("rate", "burst"), [(10.0, 20), (0.5, 1), (1000.0, 1000)])
async def test_the_window_lets_the_burst_through(rate: float, burst: int) -> None:
    assert await sent([SendLimiter(rate=rate, burst=burst)], burst) == burst
