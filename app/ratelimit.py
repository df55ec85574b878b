"""Messages per second per user, one budget per user however many nodes they are connected to.

With the Redis bus the counters live in that Redis, so every node draws on the same budget; with the
in-memory bus (one process) they live in memory. `PARLEY_MESSAGES_PER_SECOND` and `PARLEY_MESSAGE_BURST`
become a sliding window of `burst` sends per `burst / rate` seconds: bursts up to `burst`, `rate` sustained.
If Redis cannot be reached the limiter lets the send through (the store, not the limiter, is what must be
available) and logs it."""

from __future__ import annotations

import asyncio
import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import RedisError

from app.errors import RateLimited

log = logging.getLogger(__name__)
ANSWER_SECONDS = 0.5


class SendLimiter:
    def __init__(self, *, rate: float, burst: int, redis_url: str | None = None, prefix: str = "parley") -> None:
        self._item = RateLimitItemPerSecond(burst, max(1, math.ceil(burst / rate)))
        self._storage: Storage = (
            RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=f"{prefix}:ratelimit")
            if redis_url
            else MemoryStorage()
        )
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)

    async def check(self, user_id: str) -> None:
        """Spend one send of `user_id`'s budget, or raise `RateLimited` with the seconds to wait."""
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                if await self._limiter.hit(self._item, user_id):
                    return
                stats = await self._limiter.get_window_stats(self._item, user_id)
        except (RedisError, OSError) as error:  # TimeoutError is an OSError: a hung Redis lets sends through too
            log.warning("rate limiter unavailable, letting the send through: %s", error)
            return
        wait = max(0.0, stats.reset_time - time.time())
        raise RateLimited(f"too many messages; retry in {wait:.1f}s", retry_after=wait)
