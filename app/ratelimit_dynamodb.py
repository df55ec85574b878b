"""Send budgets shared by every Lambda container of a region: the counters of `app/ratelimit.py` in DynamoDB.

Each Lambda container is its own process, so an in-memory limiter gives a user spread over N containers N
budgets. `limits` has no DynamoDB storage, but a storage is its extension point: a subclass of
`limits.aio.storage.Storage` registers itself for a URL scheme (`async+dynamodb`, so `storage_from_string`
finds it too) and serves the strategies it supports. This one serves `SlidingWindowCounterRateLimiter`, the
strategy `SendLimiter` uses, so the rate item, the strategy and the `RateLimited` answer stay those of the
gateway; only where the counters live changes.

URL (`PARLEY_RATELIMIT_URL`): `dynamodb://?region=R&table=T`, `endpoint=URL` for moto or DynamoDB Local. The
table has one string key `pk` and a TTL on `expires_at`; it is regional, never a global table: replicating
every send would double the writes, and budgets per region are what a failover needs (a client's connection
is in one region anyway).

| item | pk | attributes |
|---|---|---|
| a window's counter | `RATE#<limits key>/<window number>` | hits, expires_at (epoch seconds, TTL) |

Acquiring is one conditional `UpdateItem` on the current window's counter: `ADD hits` on the condition that
`hits` leaves room once the previous window's weighted count is taken off. DynamoDB evaluates the condition
on the item itself, so the check and the increment are one atomic step across containers: the (limit+1)th
send fails its condition wherever it comes from, and nothing has to be undone (limits' memory storage
increments, then decrements when it lost a race). A window that has ended no longer changes (every writer's
clock is past it), so a container reads it once and keeps its count while it is the previous window.

Errors are the driver's (`ClientError`, `BotoCoreError`); with `wrap_exceptions=True` limits raises them as
`limits.errors.StorageError`, on which `SendLimiter` lets the send through (fails open, see there)."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from limits.aio.storage import SlidingWindowCounterSupport, Storage
from limits.storage.base import TimestampedSlidingWindow

from app.aws import create_ttl_table, error_code, make_client, split_url

PREFIX = "RATE#"
TTL_ATTRIBUTE = "expires_at"
CONDITION_FAILED = "ConditionalCheckFailedException"
POOL_SIZE = 4
# Ended windows remembered per container (one per active user); the oldest are forgotten first.
CLOSED_WINDOWS_KEPT = 4096
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RateLimitTable:
    table: str
    region: str
    endpoint: str | None = None

    @classmethod
    def from_url(cls, url: str) -> RateLimitTable:
        """`dynamodb://?region=R&table=T[&endpoint=URL]` (limits' `async+dynamodb://` too); ValueError otherwise."""
        parts, query = split_url(url.removeprefix("async+"))
        if parts.scheme != "dynamodb" or not query.get("table") or not query.get("region"):
            raise ValueError(f"the rate-limit URL must be dynamodb://?region=<region>&table=<table>, not {url!r}")
        return cls(table=query["table"], region=query["region"], endpoint=query.get("endpoint"))


def create_ratelimit_table(url: str) -> bool:
    """Create the table with its TTL (tests, local runs; the stack declares it); False if it was there."""
    config = RateLimitTable.from_url(url)
    client = make_client("dynamodb", region=config.region, endpoint=config.endpoint, pool_size=1)
    return create_ttl_table(client, config.table, ttl_attribute=TTL_ATTRIBUTE)


def _key(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"{PREFIX}{key}"}}


def _number(value: float) -> dict[str, str]:
    return {"N": str(value)}


def _previous_weight(now: float, expiry: int) -> float:
    """The share of the previous window still inside the sliding window ending now (limits' weighting)."""
    return 1 - ((now / expiry) % 1)


class DynamoDBStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """Counters in a DynamoDB table, for `limits`' fixed-window and sliding-window-counter strategies.
    `clock` is the time in epoch seconds (tests move it); DynamoDB's TTL needs real epoch seconds."""

    STORAGE_SCHEME = ["async+dynamodb"]  # noqa: RUF012 (limits declares it an instance-typed list)

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        *,
        clock: Clock = time.time,
        pool_size: int = POOL_SIZE,
        **options: float | str | bool,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.config = RateLimitTable.from_url(uri)
        self.clock = clock
        self._client = make_client(
            "dynamodb", region=self.config.region, endpoint=self.config.endpoint, pool_size=pool_size
        )
        self._executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="ratelimit")
        self._closed: dict[str, int] = {}

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return (ClientError, BotoCoreError)

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        """One API call on this storage's threads (boto3 blocks), on its table."""
        method = functools.partial(getattr(self._client, operation), TableName=self.config.table, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, method)

    async def _item(self, key: str) -> tuple[int, float]:
        """A counter's hits and expiry; (0, 0.0) when it is absent or expired (TTL deletes lazily)."""
        response = await self._call("get_item", Key=_key(key), ConsistentRead=True)
        item = response.get("Item")
        if item is None or float(item[TTL_ATTRIBUTE]["N"]) <= self.clock():
            return 0, 0.0
        return int(item["hits"]["N"]), float(item[TTL_ATTRIBUTE]["N"])

    async def _add(self, key: str, amount: int, expires_at: float, condition: str, **values: float) -> int | None:
        """Add `amount` to a counter if `condition` holds; its new hits, or None when the condition failed."""
        try:
            response = await self._call(
                "update_item",
                Key=_key(key),
                UpdateExpression=f"ADD hits :amount SET {TTL_ATTRIBUTE} = if_not_exists({TTL_ATTRIBUTE}, :expires)",
                ConditionExpression=condition,
                ExpressionAttributeValues={
                    ":amount": _number(amount),
                    ":expires": _number(math.ceil(expires_at)),
                    **{f":{name}": _number(value) for name, value in values.items()},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if error_code(error) == CONDITION_FAILED:
                return None
            raise
        return int(response["Attributes"]["hits"]["N"])

    # The sliding window counter (what SendLimiter uses)

    async def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take `amount` hits if the weighted count of both windows stays within `limit`: one UpdateItem."""
        if amount > limit:
            return False
        now = self.clock()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous = await self._closed_window(previous_key)
        room = limit - amount - math.floor(previous * _previous_weight(now, expiry))
        if room < 0:
            return False
        # Kept until the end of the next window, while it still weighs as that window's previous one.
        expires_at = (math.floor(now / expiry) + 2) * expiry
        condition = "attribute_not_exists(hits) OR hits <= :room"
        return await self._add(current_key, amount, expires_at, condition, room=room) is not None

    async def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        now = self.clock()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous = await self._closed_window(previous_key)
        current, _ = await self._item(current_key)
        previous_ttl = _previous_weight(now, expiry) * expiry if previous else 0.0
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous, previous_ttl, current, current_ttl

    async def clear_sliding_window(self, key: str, expiry: int) -> None:
        previous_key, current_key = self.sliding_window_keys(key, expiry, self.clock())
        for window_key in (previous_key, current_key):
            self._closed.pop(window_key, None)
            await self.clear(window_key)

    async def _closed_window(self, key: str) -> int:
        """An ended window's hits, read once per container: nobody adds to a window after it ends."""
        if key not in self._closed:
            if len(self._closed) >= CLOSED_WINDOWS_KEPT:
                del self._closed[next(iter(self._closed))]
            self._closed[key], _ = await self._item(key)
        return self._closed[key]

    # The base storage (limits' fixed window: a window starts at its first hit)

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        live = f"attribute_not_exists({TTL_ATTRIBUTE}) OR {TTL_ATTRIBUTE} > :now"
        # Each failed attempt means another container moved the counter on: expired it is restarted, live added to.
        for _ in range(3):
            hits = await self._add(key, amount, now + expiry, live, now=now)
            if hits is not None:
                return hits
            if await self._restart(key, amount, now + expiry, now=now):
                return amount
        raise RuntimeError(f"the counter {key!r} changed under every attempt to count a hit")

    async def _restart(self, key: str, amount: int, expires_at: float, *, now: float) -> bool:
        """Start an expired counter over (TTL deletes it late); False if it is live again meanwhile."""
        try:
            await self._call(
                "put_item",
                Item={**_key(key), "hits": _number(amount), TTL_ATTRIBUTE: _number(math.ceil(expires_at))},
                ConditionExpression=f"{TTL_ATTRIBUTE} <= :now",
                ExpressionAttributeValues={":now": _number(now)},
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            return False
        return True

    async def get(self, key: str) -> int:
        hits, _ = await self._item(key)
        return hits

    async def get_expiry(self, key: str) -> float:
        _, expires_at = await self._item(key)
        return expires_at or self.clock()

    async def check(self) -> bool:
        """Whether the table answers (a read of an item that never exists)."""
        try:
            await self._item("PING")
        except (ClientError, BotoCoreError):
            return False
        return True

    async def reset(self) -> int | None:
        """Delete every counter: a scan, for tests and operators (the functions' role may not scan)."""
        request: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": PREFIX}},
            "ProjectionExpression": "pk",
        }
        deleted = 0
        while True:
            response = await self._call("scan", **request)
            for item in response.get("Items", []):
                await self._call("delete_item", Key={"pk": item["pk"]})
                deleted += 1
            if "LastEvaluatedKey" not in response:
                self._closed.clear()
                return deleted
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    async def clear(self, key: str) -> None:
        await self._call("delete_item", Key=_key(key))

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._client.close)
