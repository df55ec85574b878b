"""The serverless bus: API Gateway holds the WebSockets, so publishing is posting to them.

URL: `apigateway://<api id>.execute-api.<region>.amazonaws.com/<stage>?table=<connections table>`; optional
`region=` (else read from the host), `tls=false` and `dynamodb_endpoint=` (for moto or DynamoDB Local).

`publish` posts the event's frame, encoded once, to every connection of its users through the management
API (`post_to_connection`). A connection API Gateway no longer has answers 410 `GoneException`; that
connection, and only it, is forgotten. Connections live in their own table (pk `pk`, string):

| item | pk | attributes |
|---|---|---|
| connection | `CONN#<connection id>` | user_id, username, display_name, connected_at, expires_at (TTL), greeted |
| user | `USER#<user id>` | connections: string set of the user's connection ids |

A user is online iff their set is not empty. The set, not a secondary index over connection items, is what
publish and presence read: it is updated atomically, read strongly consistently, and the write that adds or
removes a connection id returns the set, which says whether the user just came online or went offline.
Connection items expire (TTL) with the token that opened them, and API Gateway ends a connection after two
hours anyway; an id left in a set by a lost `$disconnect` is dropped at the next post, which answers 410.

There is no node to deliver to, and nothing arrives. In Lambda the handlers call `add_connection` and
`remove_connection`, which return whether the user came online or went offline; `connected` reports what the
last `add_connection` found, so the chat service's presence rules run unchanged. A user whose last
connection turns out to be gone is reported through `lapsed`, as a dead node's users are on Redis.

Replies to the calling connection (`ack`, `sync`, `error`) are queued with `post_soon` and posted, in order,
before any event the invocation publishes, so a sender sees its `ack` before its `message`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.aws import create_ttl_table, error_code, make_client, split_url
from app.bus.base import Deliver, Event, Lapsed
from app.domain import User
from app.errors import Unavailable

log = logging.getLogger(__name__)
POST_THREADS = 16
CONNECTION_HOURS = 2  # API Gateway's limit on one WebSocket connection


@dataclass(frozen=True, slots=True)
class ApiGatewayConfig:
    endpoint: str
    table: str
    region: str
    dynamodb_endpoint: str | None = None

    @classmethod
    def from_url(cls, url: str) -> ApiGatewayConfig:
        parts, query = split_url(url)
        if parts.scheme != "apigateway" or not parts.netloc or not query.get("table"):
            raise ValueError("the bus URL must be apigateway://<api host>/<stage>?table=<connections table>")
        host = parts.hostname or ""
        host_region = host.split(".")[2] if ".execute-api." in host else None
        scheme = "http" if query.get("tls") == "false" else "https"
        return cls(
            endpoint=f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}",
            table=query["table"],
            region=query.get("region") or host_region or "us-east-1",
            dynamodb_endpoint=query.get("dynamodb_endpoint"),
        )


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    connection_id: str
    user: User
    expires_at: float
    greeted: bool


def create_connections_table(url: str) -> bool:
    """Create the connections table with its TTL (tests, local runs); False if it was already there."""
    config = ApiGatewayConfig.from_url(url)
    client = make_client("dynamodb", region=config.region, endpoint=config.dynamodb_endpoint, pool_size=1)
    return create_ttl_table(client, config.table, ttl_attribute="expires_at")


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


class ApiGatewayBus:
    def __init__(self, config: ApiGatewayConfig, *, node_id: str) -> None:
        self.node_id = node_id
        self.config = config
        self.table = config.table
        self._dynamodb = make_client(
            "dynamodb", region=config.region, endpoint=config.dynamodb_endpoint, pool_size=POST_THREADS
        )
        self._management = make_client(
            "apigatewaymanagementapi", region=config.region, endpoint=config.endpoint, pool_size=POST_THREADS
        )
        self._executor = ThreadPoolExecutor(max_workers=POST_THREADS, thread_name_prefix="apigateway")
        self._outbox: list[tuple[str, str]] = []
        self._came_online: set[str] = set()
        self._lapsed: Lapsed | None = None

    @classmethod
    def from_url(cls, url: str, *, node_id: str) -> ApiGatewayBus:
        return cls(ApiGatewayConfig.from_url(url), node_id=node_id)

    async def _call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        method = functools.partial(getattr(client, operation), **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, method)

    async def _table(self, operation: str, **kwargs: Any) -> Any:
        try:
            return await self._call(self._dynamodb, operation, TableName=self.table, **kwargs)
        except (ClientError, BotoCoreError) as error:
            code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
            raise Unavailable(f"connections table unavailable: {code}") from error

    # The Bus interface

    async def start(self, deliver: Deliver, lapsed: Lapsed | None = None) -> None:
        """API Gateway holds the connections and no event arrives here; `lapsed` hears of users whose last
        connection turned out to be gone."""
        self._lapsed = lapsed

    async def publish(self, event: Event) -> None:
        await self.flush()
        connection_ids = await self.connections_of(event.user_ids)
        data = event.frame.encode()
        await asyncio.gather(*(self._post(connection_id, data) for connection_id in connection_ids))

    async def connected(self, user_id: str) -> bool:
        """Whether the last `add_connection` for `user_id` brought them online."""
        if user_id in self._came_online:
            self._came_online.discard(user_id)
            return True
        return False

    async def disconnected(self, user_id: str) -> bool:
        """Whether `user_id` has no connection left (the `$disconnect` handler uses `remove_connection`)."""
        return not await self.online([user_id])

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {user_id for user_id, connections in (await self._sets(user_ids)).items() if connections}

    async def ping(self) -> None:
        await self._table("get_item", Key=_key("PING"))

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._dynamodb.close)
        await asyncio.to_thread(self._management.close)

    # Connections

    async def add_connection(self, connection_id: str, user: User, *, expires_at: float) -> bool:
        """Record a new connection; True if it is the user's only one (they just came online)."""
        now = time.time()
        await self._table(
            "put_item",
            Item={
                **_key(f"CONN#{connection_id}"),
                "user_id": {"S": user.id},
                "username": {"S": user.username},
                "display_name": {"S": user.display_name},
                "connected_at": {"N": str(int(now))},
                "expires_at": {"N": str(int(min(expires_at, now + CONNECTION_HOURS * 3600)))},
                "greeted": {"BOOL": False},
            },
        )
        response = await self._table(
            "update_item",
            Key=_key(f"USER#{user.id}"),
            UpdateExpression="ADD connections :id",
            ExpressionAttributeValues={":id": {"SS": [connection_id]}},
            ReturnValues="ALL_NEW",
        )
        first = len(response["Attributes"]["connections"]["SS"]) == 1
        if first:
            self._came_online.add(user.id)
        return first

    async def remove_connection(self, connection_id: str) -> tuple[str | None, bool]:
        """Forget a connection; its user's id (None if it was unknown) and whether they are now offline."""
        response = await self._table("delete_item", Key=_key(f"CONN#{connection_id}"), ReturnValues="ALL_OLD")
        old = response.get("Attributes")
        if old is None:
            return None, False
        user_id = old["user_id"]["S"]
        response = await self._table(
            "update_item",
            Key=_key(f"USER#{user_id}"),
            UpdateExpression="DELETE connections :id",
            ExpressionAttributeValues={":id": {"SS": [connection_id]}},
            ReturnValues="ALL_NEW",
        )
        return user_id, "connections" not in response.get("Attributes", {})

    async def connection(self, connection_id: str) -> ConnectionInfo | None:
        response = await self._table("get_item", Key=_key(f"CONN#{connection_id}"), ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        user = User(id=item["user_id"]["S"], username=item["username"]["S"], display_name=item["display_name"]["S"])
        return ConnectionInfo(connection_id, user, float(item["expires_at"]["N"]), item["greeted"]["BOOL"])

    async def greet(self, connection_id: str) -> bool:
        """Mark the connection greeted; True the first time only. (Nothing can be posted to a connection
        during `$connect`, so the presence of contacts goes out with its first frame.)"""
        try:
            await self._call(
                self._dynamodb,
                "update_item",
                TableName=self.table,
                Key=_key(f"CONN#{connection_id}"),
                UpdateExpression="SET greeted = :yes",
                ConditionExpression="greeted = :no",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":no": {"BOOL": False}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise Unavailable(f"connections table unavailable: {error.response['Error']['Code']}") from error
        return True

    async def connections_of(self, user_ids: Iterable[str]) -> list[str]:
        return sorted({c for connections in (await self._sets(user_ids)).values() for c in connections})

    async def _sets(self, user_ids: Iterable[str]) -> dict[str, set[str]]:
        wanted = sorted(set(user_ids))
        found: dict[str, set[str]] = {}
        for start in range(0, len(wanted), 100):  # BatchGetItem takes 100 keys
            pending: dict[str, Any] = {
                self.table: {"Keys": [_key(f"USER#{u}") for u in wanted[start : start + 100]], "ConsistentRead": True}
            }
            while pending:
                response = await self._call_batch(pending)
                for item in response.get("Responses", {}).get(self.table, []):
                    found[item["pk"]["S"].removeprefix("USER#")] = set(item.get("connections", {}).get("SS", []))
                pending = response.get("UnprocessedKeys") or {}
        return found

    async def _call_batch(self, request: dict[str, Any]) -> Any:
        try:
            return await self._call(self._dynamodb, "batch_get_item", RequestItems=request)
        except (ClientError, BotoCoreError) as error:
            raise Unavailable(f"connections table unavailable: {type(error).__name__}") from error

    # Posting

    def post_soon(self, connection_id: str, frame: str) -> None:
        """Queue a frame for one connection; `flush` (or the next `publish`) posts it."""
        self._outbox.append((connection_id, frame))

    async def flush(self) -> None:
        while self._outbox:
            connection_id, frame = self._outbox.pop(0)
            await self._post(connection_id, frame.encode())

    async def _post(self, connection_id: str, data: bytes) -> bool:
        """Post to one connection; a gone one is forgotten. Best effort: other failures are logged."""
        try:
            await self._call(self._management, "post_to_connection", ConnectionId=connection_id, Data=data)
            return True
        except ClientError as error:
            if error_code(error) == "GoneException":
                log.info("connection gone", extra={"connection_id": connection_id})
                user_id, offline = await self.remove_connection(connection_id)
                if user_id is not None and offline and self._lapsed is not None:
                    await self._lapsed([user_id])
            else:
                log.warning("post to %s failed: %s", connection_id, error_code(error))
        except BotoCoreError as error:
            log.warning("post to %s failed: %s", connection_id, type(error).__name__)
        return False

    async def disconnect(self, connection_id: str) -> None:
        """End a connection from the server side (an expired token); API Gateway then calls `$disconnect`."""
        try:
            await self._call(self._management, "delete_connection", ConnectionId=connection_id)
        except (ClientError, BotoCoreError) as error:
            log.info("closing %s: %s", connection_id, type(error).__name__)
        await self.remove_connection(connection_id)
