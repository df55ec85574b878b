"""Messages per second per user, one budget per user however many nodes they are connected to.

With the Redis bus the counters live in that Redis, so every node draws on the same budget; with the
in-memory bus (one process) they live in memory. `PARLEY_MESSAGES_PER_SECOND` and `PARLEY_MESSAGE_BURST`
become a sliding window of `burst` sends per `burst / rate` seconds: bursts up to `burst`, `rate` sustained.
If Redis cannot be reached the limiter lets the send through (the store, not the limiter, is what must be
available) and logs it.

On AWS Lambda every container is a process of its own, so `PARLEY_RATELIMIT_URL=dynamodb://...` puts the
counters in a DynamoDB table instead (`app/ratelimit_dynamodb.py`, the same strategy on another storage).
It fails open too: a throttled or unreachable table lets the send through, logged, while the stage's
throttling and the functions' reserved concurrency still bound what one client can cost."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError

from app.errors import RateLimited

if TYPE_CHECKING:
    from app.settings import Settings

log = logging.getLogger(__name__)


@runtime_checkable
class Closable(Protocol):
    async def close(self) -> None: ...


ANSWER_SECONDS = 0.5


class SendLimiter:
    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        redis_url: str | None = None,
        prefix: str = "parley",
        storage: Storage | None = None,
    ) -> None:
        """`storage`, when given, holds the counters (it must support the sliding window counter, and raise
        `limits.errors.StorageError` when it cannot answer); else Redis at `redis_url`, else memory."""
        self._item = RateLimitItemPerSecond(burst, max(1, math.ceil(burst / rate)))
        if storage is None:
            storage = (
                RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=f"{prefix}:ratelimit")
                if redis_url
                else MemoryStorage()
            )
        self._storage: Storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> SendLimiter:
        """Where a node keeps the counters: `PARLEY_RATELIMIT_URL` (DynamoDB, serverless) when set, else the
        bus's Redis when the bus is Redis, else this process's memory."""
        storage: Storage | None = None
        if settings.ratelimit_url:
            # Imported here: boto3 is only installed where the serverless extra is.
            from app.ratelimit_dynamodb import DynamoDBStorage

            storage = DynamoDBStorage(settings.ratelimit_url, wrap_exceptions=True)
        redis_url = settings.bus_url if settings.bus_url.startswith(("redis:", "rediss:")) else None
        return cls(
            rate=settings.messages_per_second,
            burst=settings.message_burst,
            redis_url=redis_url,
            prefix=settings.bus_prefix,
            storage=storage,
        )

    @property
    def storage(self) -> Storage:
        return self._storage

    async def close(self) -> None:
        """Release what the storage holds: the DynamoDB storage's client and threads. limits' own storages
        keep nothing that needs closing (Redis connections return to their pool)."""
        if isinstance(self._storage, Closable):
            await self._storage.close()

    async def check(self, user_id: str) -> None:
        """Spend one send of `user_id`'s budget, or raise `RateLimited` with the seconds to wait."""
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                if await self._limiter.hit(self._item, user_id):
                    return
                stats = await self._limiter.get_window_stats(self._item, user_id)
        # TimeoutError is an OSError: a hung Redis (or DynamoDB) lets sends through too.
        except (RedisError, OSError, StorageError) as error:
            log.warning("rate limiter unavailable, letting the send through: %s", error)
            return
        wait = max(0.0, stats.reset_time - time.time())
        raise RateLimited(f"too many messages; retry in {wait:.1f}s", retry_after=wait)
