"""The Redis bus: one pub/sub channel for events, presence counted per node in Redis hashes.

Every node subscribes to one channel and receives every event (fine for the tens of nodes Parley targets;
each node drops users it holds no connection for). A node delivers its own events locally before
publishing and ignores their echo. If Redis goes away the listener reconnects with backoff; events
published meanwhile are lost, which is allowed: clients `sync` from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.bus.base import Deliver, Event, Lapsed
from app.errors import Unavailable

log = logging.getLogger(__name__)

COMMAND_SECONDS = 1.0
SEP = "\x00"  # never inside a JSON text: control characters are escaped there

# Presence: hash <prefix>:presence:<user> maps node id -> 1 while that node holds a connection for the user;
# a node counts only while its liveness key <prefix>:node:<id> exists, so a dead node lapses by itself.
# KEYS: presence hash, this node's user set, the set of nodes. ARGV: node, +1/-1, node key prefix, user.
_COUNT_LIVE = """
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], 1)
  redis.call('SADD', KEYS[2], ARGV[4])
  redis.call('SADD', KEYS[3], ARGV[1])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[4])
end
local total = 0
local nodes = redis.call('HKEYS', KEYS[1])
for _, node in ipairs(nodes) do
  if node == ARGV[1] or redis.call('EXISTS', ARGV[3] .. node) == 1 then total = total + 1 end
end
return total
"""
_ANY_LIVE = """
local result = {}
for i, key in ipairs(KEYS) do
  result[i] = 0
  for _, node in ipairs(redis.call('HKEYS', key)) do
    if redis.call('EXISTS', ARGV[1] .. node) == 1 then result[i] = 1 break end
  end
end
return result
"""

# Forget nodes whose liveness lapsed (they died without cleaning up); return the users who are now offline
# everywhere. Atomic, so of all the nodes sweeping, exactly one reports each user.
_SWEEP = """
local prefix, me, gone = ARGV[1], ARGV[2], {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if node ~= me and redis.call('EXISTS', prefix .. ':node:' .. node) == 0 then
    local users_key = prefix .. ':node-users:' .. node
    for _, user in ipairs(redis.call('SMEMBERS', users_key)) do
      local presence = prefix .. ':presence:' .. user
      redis.call('HDEL', presence, node)
      local live = false
      for _, other in ipairs(redis.call('HKEYS', presence)) do
        if redis.call('EXISTS', prefix .. ':node:' .. other) == 1 then live = true break end
      end
      if not live then table.insert(gone, user) end
    end
    redis.call('DEL', users_key)
    redis.call('SREM', KEYS[1], node)
  end
end
return gone
"""


def encode(event: Event) -> str:
    return SEP.join((event.origin, repr(event.sent_at), event.kind, ",".join(event.user_ids), event.frame))


def decode(data: str) -> Event:
    origin, sent_at, kind, users, frame = data.split(SEP, 4)
    return Event(
        user_ids=tuple(users.split(",")) if users else (), frame=frame, origin=origin, sent_at=float(sent_at), kind=kind
    )


class RedisBus:
    def __init__(self, url: str, *, node_id: str, prefix: str = "parley", liveness_seconds: float = 15.0) -> None:
        self.node_id = node_id
        self._prefix = prefix
        self._channel = f"{prefix}:events"
        self._redis = aioredis.from_url(url, decode_responses=True, health_check_interval=10)
        self._liveness = liveness_seconds
        self._deliver: Deliver | None = None
        self._lapsed: Lapsed | None = None
        self._local_users: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._count_live = self._redis.register_script(_COUNT_LIVE)
        self._any_live = self._redis.register_script(_ANY_LIVE)
        self._sweep = self._redis.register_script(_SWEEP)

    def _node_key(self, node: str = "") -> str:
        return f"{self._prefix}:node:{node}"

    def _presence_key(self, user_id: str) -> str:
        return f"{self._prefix}:presence:{user_id}"

    async def start(self, deliver: Deliver, lapsed: Lapsed | None = None) -> None:
        self._deliver = deliver
        self._lapsed = lapsed
        subscribed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(subscribed), name="bus-listen"),
            asyncio.create_task(self._heartbeat(), name="bus-heartbeat"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(subscribed.wait(), timeout=5)

    async def _listen(self, subscribed: asyncio.Event) -> None:
        backoff = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                subscribed.set()
                backoff = 0.1
                async for message in pubsub.listen():
                    self._on_message(message["data"])
            except (RedisError, OSError) as error:
                log.warning("bus listener lost redis, retrying in %.1fs: %s", backoff, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _on_message(self, data: str) -> None:
        event = decode(data)
        if event.origin != self.node_id and self._deliver is not None:
            self._deliver(event)

    async def _heartbeat(self) -> None:
        while True:
            try:
                previous = await self._redis.set(
                    self._node_key(self.node_id), 1, px=max(1, int(self._liveness * 1000)), get=True
                )
                if previous is None and self._local_users:
                    # Redis restarted (or our key lapsed): announce every user we still hold again.
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for user_id in self._local_users:
                            pipe.hset(self._presence_key(user_id), self.node_id, "1")
                        await pipe.execute()
                await self._sweep_lapsed_nodes()
            except (RedisError, OSError) as error:
                log.warning("bus heartbeat failed: %s", error)
            await asyncio.sleep(self._liveness / 3)

    async def _sweep_lapsed_nodes(self) -> None:
        gone = await self._sweep(keys=[f"{self._prefix}:nodes"], args=[self._prefix, self.node_id])
        if gone and self._lapsed is not None:
            log.info("users offline after a node lapsed: %d", len(gone))
            await self._lapsed(list(gone))

    async def publish(self, event: Event) -> None:
        event = Event(
            user_ids=event.user_ids, frame=event.frame, origin=self.node_id, sent_at=event.sent_at, kind=event.kind
        )
        if self._deliver is not None:
            self._deliver(event)
        async with self._answering():
            await self._redis.publish(self._channel, encode(event))

    async def _count(self, user_id: str, delta: int) -> int:
        keys = [self._presence_key(user_id), f"{self._prefix}:node-users:{self.node_id}", f"{self._prefix}:nodes"]
        async with self._answering():
            total = await self._count_live(keys=keys, args=[self.node_id, delta, self._node_key(), user_id])
        return int(total)

    async def connected(self, user_id: str) -> bool:
        self._local_users.add(user_id)
        return await self._count(user_id, 1) == 1

    async def disconnected(self, user_id: str) -> bool:
        self._local_users.discard(user_id)
        return await self._count(user_id, -1) == 0

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        ids = list(user_ids)
        if not ids:
            return set()
        async with self._answering():
            flags = await self._any_live(keys=[self._presence_key(u) for u in ids], args=[self._node_key()])
        return {user_id for user_id, flag in zip(ids, flags, strict=True) if flag}

    async def ping(self) -> None:
        async with self._answering():
            await self._redis.ping()  # type: ignore[misc]

    @contextlib.asynccontextmanager
    async def _answering(self) -> AsyncIterator[None]:
        """Redis must answer within COMMAND_SECONDS: a hung Redis (frozen, or a network black hole) must not
        hold up sends; it is reported as unavailable like a refused one. (TimeoutError is an OSError.)"""
        try:
            async with asyncio.timeout(COMMAND_SECONDS):
                yield
        except (RedisError, OSError) as error:
            raise Unavailable(f"bus unavailable: {error or 'no answer in time'}") from error

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(RedisError, OSError):
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in self._local_users:
                    pipe.hdel(self._presence_key(user_id), self.node_id)
                pipe.delete(self._node_key(self.node_id), f"{self._prefix}:node-users:{self.node_id}")
                pipe.srem(f"{self._prefix}:nodes", self.node_id)
                await pipe.execute()
        await self._redis.aclose()
