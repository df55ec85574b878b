"""`Table`: the store's calls to its DynamoDB table, on worker threads, with driver errors made domain ones."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

from botocore.exceptions import BotoCoreError, ClientError

from app.aws import error_code, make_client
from app.domain import new_id
from app.errors import Invalid, Unavailable
from app.store.dynamodb.items import Item, item_key
from app.store.dynamodb.table import DynamoConfig

# Raised by a conditional write the caller handles itself; every other client error becomes a domain error.
CONDITION_CODES = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})
INVALID_CODES = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})


class Table:
    def __init__(self, config: DynamoConfig, *, pool_size: int = 10) -> None:
        self.config = config
        self.table = config.table
        self._client = make_client("dynamodb", region=config.region, endpoint=config.endpoint, pool_size=pool_size)
        self._executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="dynamodb")

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        """One API call on a worker thread; errors become domain errors except those of a failed condition."""
        method = functools.partial(getattr(self._client, operation), **kwargs)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, method)
        except ClientError as error:
            code = error_code(error)
            if code in CONDITION_CODES:
                raise
            if code in INVALID_CODES:
                raise Invalid(f"a value cannot be stored: {error.response['Error'].get('Message', code)}") from error
            raise Unavailable(f"DynamoDB unavailable: {code}") from error
        except BotoCoreError as error:
            raise Unavailable(f"DynamoDB unavailable: {type(error).__name__}") from error

    async def _get(self, pk: str, sk: str) -> Item | None:
        response = await self._call("get_item", TableName=self.table, Key=item_key(pk, sk), ConsistentRead=True)
        item: Item | None = response.get("Item")
        return item

    async def _query(self, *, limit: int | None = None, **kwargs: Any) -> list[Item]:
        """Every item a key condition matches (or the first `limit`), across DynamoDB's 1 MB pages."""
        items: list[Item] = []
        request: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True, **kwargs}
        while True:
            if limit is not None:
                request["Limit"] = limit - len(items)
            response = await self._call("query", **request)
            items.extend(response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if start is None or (limit is not None and len(items) >= limit):
                return items
            request["ExclusiveStartKey"] = start

    async def _transact(self, items: list[Item]) -> None:
        await self._call("transact_write_items", TransactItems=items, ClientRequestToken=new_id())

    def _put(self, item: Item, *, new: bool = True) -> Item:
        put: Item = {"TableName": self.table, "Item": item}
        if new:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10) -> Self:
        return cls(DynamoConfig.from_url(url), pool_size=pool_size)

    async def _batch_get(self, keys: list[Item]) -> list[Item]:
        items: list[Item] = []
        pending: Item = {self.table: {"Keys": keys, "ConsistentRead": True}}
        while pending:
            response = await self._call("batch_get_item", RequestItems=pending)
            items.extend(response.get("Responses", {}).get(self.table, []))
            pending = response.get("UnprocessedKeys") or {}
        return items

    async def _batch_write(self, items: list[Item]) -> None:
        for start in range(0, len(items), 25):  # BatchWriteItem takes 25 items
            pending: Item = {self.table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            while pending:
                response = await self._call("batch_write_item", RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}

    async def ping(self) -> None:
        await self._get("PING", "PING")

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._client.close)
