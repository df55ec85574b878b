"""`DynamoStore`: the `Store` contract on one DynamoDB table (design: the package docstring)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from app.domain import Message, Role, Room, RoomKind, User, direct_key, new_id, now_ms
from app.errors import Conflict, NotFound, Unavailable
from app.store.base import Credentials, Page, RoomView, sync_from
from app.store.dynamodb.client import Table
from app.store.dynamodb.items import (
    SEQ_DIGITS,
    Item,
    fits,
    item_key,
    last_activity,
    member_items,
    message_from,
    message_item,
    message_sk,
    number,
    room_from,
    string,
    user_from,
)
from app.store.dynamodb.table import DynamoConfig

MAX_TRANSACTION_ITEMS = 100
APPEND_ATTEMPTS = 200  # each lost race is another writer's success, so this bounds only pathological cases


class _SeqTaken(Exception):
    """Another writer allocated the seq this attempt wanted (or held the room item): try again."""


def _reasons(error: ClientError) -> list[str]:
    """Why a transaction was cancelled, one code per item: "None", "ConditionalCheckFailed", ..."""
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


class DynamoStore(Table):
    """`Store` over one DynamoDB table (see the package docstring for the design)."""

    def __init__(self, config: DynamoConfig, *, pool_size: int = 10) -> None:
        super().__init__(config, pool_size=pool_size)
        # Senders to one room in this process queue here, so only other processes' writers race the conditional
        # write; without it every concurrent sender would retry in turn.
        self._room_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # Users

    async def create_user(self, *, username: str, display_name: str, password_hash: str) -> User:
        user = User(id=new_id(), username=username, display_name=display_name)
        names = {"username": string(username), "display_name": string(display_name)}
        try:
            await self._transact(
                [
                    self._put({**item_key(f"USER#{user.id}", "USER"), **names, "created_at": number(now_ms())}),
                    self._put(
                        {
                            **item_key(f"NAME#{username}", "NAME"),
                            **names,
                            "user_id": string(user.id),
                            "password_hash": string(password_hash),
                        }
                    ),
                ]
            )
        except ClientError as error:
            raise Conflict(f"username {username!r} is taken") from error
        return user

    async def credentials(self, username: str) -> Credentials | None:
        if not fits(username):
            return None
        item = await self._get(f"NAME#{username}", "NAME")
        return None if item is None else Credentials(user=user_from(item), password_hash=item["password_hash"]["S"])

    async def get_user(self, user_id: str) -> User | None:
        if not fits(user_id):
            return None
        item = await self._get(f"USER#{user_id}", "USER")
        return None if item is None else User(user_id, item["username"]["S"], item["display_name"]["S"])

    async def users_by_username(self, usernames: list[str]) -> dict[str, User]:
        wanted = sorted({name for name in usernames if fits(name)})
        found: dict[str, User] = {}
        for start in range(0, len(wanted), 100):  # BatchGetItem takes 100 keys
            keys = [item_key(f"NAME#{name}", "NAME") for name in wanted[start : start + 100]]
            for item in await self._batch_get(keys):
                found[item["username"]["S"]] = user_from(item)
        return found

    # Rooms

    async def create_room(
        self, *, kind: RoomKind, name: str | None, owner: User, others: list[User]
    ) -> tuple[Room, bool]:
        key = direct_key(owner.id, others[0].id) if kind is RoomKind.DIRECT else None
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_SeqTaken),
            stop=stop_after_attempt(10),
            wait=wait_random_exponential(multiplier=0.01, max=0.2),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if key is not None and (existing := await self._direct_room(key)) is not None:
                    return existing, False
                return await self._create_room(kind=kind, name=name, owner=owner, others=others, key=key), True
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _create_room(
        self, *, kind: RoomKind, name: str | None, owner: User, others: list[User], key: str | None
    ) -> Room:
        room_id, created = new_id(), now_ms()
        meta: Item = {
            **item_key(f"ROOM#{room_id}", "ROOM"),
            "kind": string(kind.value),
            "created_at": number(created),
            "last_seq": number(0),
            "epoch": number(1),
        }
        if name is not None:
            meta["name"] = string(name)
        commit = [self._put(meta)]
        if key is not None:
            meta["direct_key"] = string(key)
            commit.append(self._put({**item_key(f"DIRECT#{key}", "DIRECT"), "room_id": string(room_id)}))
        roles = [(owner, Role.OWNER)] + [(u, Role.MEMBER) for u in others if u.id != owner.id]
        memberships = [item for user, role in roles for item in member_items(room_id, user, role, created)]
        if len(commit) + len(memberships) <= MAX_TRANSACTION_ITEMS:
            commit += [self._put(item, new=False) for item in memberships]
        else:
            await self._batch_write(memberships)  # invisible until the room item below is written
        try:
            await self._transact(commit)
        except ClientError as error:
            raise _SeqTaken from error  # the direct pair was taken meanwhile: the retry finds that room
        return await self.get_room(room_id)

    async def _direct_room(self, key: str) -> Room | None:
        item = await self._get(f"DIRECT#{key}", "DIRECT")
        return None if item is None else await self._room_or_none(item["room_id"]["S"])

    async def _room_items(self, room_id: str) -> list[Item]:
        """The room item and its member items (one query); empty for an id that cannot exist."""
        if not fits(room_id):
            return []
        condition = "pk = :pk AND begins_with(sk, :room)"
        values = {":pk": string(f"ROOM#{room_id}"), ":room": string("ROOM")}
        return await self._query(KeyConditionExpression=condition, ExpressionAttributeValues=values)

    async def _room_or_none(self, room_id: str) -> Room | None:
        return room_from(await self._room_items(room_id))

    async def get_room(self, room_id: str) -> Room:
        room = await self._room_or_none(room_id)
        if room is None:
            raise NotFound("no such room")
        return room

    async def rooms_for(self, user_id: str) -> list[RoomView]:
        loaded = await asyncio.gather(*map(self._room_items, await self.room_ids_for(user_id)))
        found = [(room, last_activity(items)) for items in loaded if (room := room_from(items)) is not None]
        found.sort(key=lambda pair: pair[1], reverse=True)
        cursors = {r.id: m.read_seq for r, _ in found for m in r.members if m.user.id == user_id}
        rooms = [room for room, _ in found if room.id in cursors]
        unread = await asyncio.gather(*(self._unread(room, user_id, cursors[room.id]) for room in rooms))
        return [RoomView(room=r, read_seq=cursors[r.id], unread=u) for r, u in zip(rooms, unread, strict=True)]

    async def _unread(self, room: Room, user_id: str, read_seq: int) -> int:
        if read_seq >= room.last_seq:
            return 0
        request: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": True,
            "Select": "COUNT",
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "FilterExpression": "sender_id <> :me AND deleted = :no",
            "ExpressionAttributeValues": {
                ":pk": string(f"ROOM#{room.id}"),
                ":lo": string(message_sk(read_seq + 1)),
                ":hi": string(message_sk(room.last_seq)),
                ":me": string(user_id),
                ":no": {"BOOL": False},
            },
        }
        count = 0
        while True:
            response = await self._call("query", **request)
            count += int(response.get("Count", 0))
            if "LastEvaluatedKey" not in response:
                return count
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    async def room_ids_for(self, user_id: str) -> list[str]:
        if not fits(user_id):
            return []
        items = await self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :room)",
            ExpressionAttributeValues={":pk": string(f"USER#{user_id}"), ":room": string("ROOM#")},
            ProjectionExpression="room_id",
        )
        return [i["room_id"]["S"] for i in items]

    async def room_member_ids(self, room_id: str) -> list[str]:
        if not fits(room_id):
            return []
        items = await self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :room)",
            ExpressionAttributeValues={":pk": string(f"ROOM#{room_id}"), ":room": string("ROOM")},
            ProjectionExpression="sk, user_id",
        )
        if not any(i["sk"]["S"] == "ROOM" for i in items):
            return []  # no such room, or one whose creation never finished
        return [i["user_id"]["S"] for i in items if "user_id" in i]

    async def contacts(self, user_id: str) -> list[str]:
        members = await asyncio.gather(*map(self.room_member_ids, await self.room_ids_for(user_id)))
        return sorted({m for ids in members for m in ids} - {user_id})

    async def add_member(self, *, room_id: str, user_id: str, role: Role) -> Room:
        user = await self.get_user(user_id)
        if user is None:
            raise NotFound("no such user")
        if not fits(room_id):
            raise NotFound("no such room")
        room_side, user_side = member_items(room_id, user, role, now_ms())
        exists = {"TableName": self.table, "Key": item_key(f"ROOM#{room_id}", "ROOM")}
        try:
            await self._transact(
                [
                    {"ConditionCheck": {**exists, "ConditionExpression": "attribute_exists(pk)"}},
                    self._put(room_side),
                    self._put(user_side, new=False),
                ]
            )
        except ClientError as error:
            reasons = _reasons(error)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise NotFound("no such room") from error
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise Conflict("that user is already a member") from error
            raise Unavailable("the room is busy; retry") from error
        return await self.get_room(room_id)

    async def remove_member(self, *, room_id: str, user_id: str) -> Room:
        if fits(room_id) and fits(user_id):
            await self._transact(
                [
                    {"Delete": {"TableName": self.table, "Key": item_key(f"ROOM#{room_id}", f"ROOM#MEMBER#{user_id}")}},
                    {"Delete": {"TableName": self.table, "Key": item_key(f"USER#{user_id}", f"ROOM#{room_id}")}},
                ]
            )
        return await self.get_room(room_id)

    # Messages

    async def append_message(
        self, *, room_id: str, sender_id: str, client_msg_id: str, body: str
    ) -> tuple[Message, bool]:
        if not fits(room_id):
            raise NotFound("no such room")
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_SeqTaken),
            stop=stop_after_attempt(APPEND_ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.002, max=0.05),
            reraise=True,
        )
        lock = self._room_locks.setdefault(room_id, asyncio.Lock())
        try:
            async with lock:
                async for attempt in retrying:
                    with attempt:
                        return await self._append_once(room_id, sender_id, client_msg_id, body)
        except _SeqTaken as error:
            raise Unavailable("the room is too busy to take this message now; retry") from error
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _append_once(self, room_id: str, sender_id: str, client_msg_id: str, body: str) -> tuple[Message, bool]:
        sent_sk = f"SENT#{sender_id}#{client_msg_id}"
        if (existing := await self._sent(room_id, sent_sk)) is not None:
            return existing, False
        room = await self._get(f"ROOM#{room_id}", "ROOM")
        if room is None:
            raise NotFound("no such room")
        last_seq, created = int(room["last_seq"]["N"]), now_ms()
        message = Message(
            id=new_id(),
            room_id=room_id,
            seq=last_seq + 1,
            sender=sender_id,
            client_msg_id=client_msg_id,
            body=body,
            created_at=created,
        )
        bump = {
            "TableName": self.table,
            "Key": item_key(f"ROOM#{room_id}", "ROOM"),
            "UpdateExpression": "SET last_seq = :next, last_message_at = :now",
            "ConditionExpression": "last_seq = :last",
            "ExpressionAttributeValues": {
                ":next": number(message.seq),
                ":now": number(created),
                ":last": number(last_seq),
            },
        }
        try:
            await self._transact(
                [
                    {"Update": bump},
                    self._put(message_item(message)),
                    self._put({**item_key(f"ROOM#{room_id}", sent_sk), "seq": number(message.seq)}),
                ]
            )
        except ClientError as error:
            if _reasons(error)[2:3] == ["ConditionalCheckFailed"]:
                # A concurrent send of the same client_msg_id won: answer with its copy.
                if (existing := await self._sent(room_id, sent_sk)) is not None:
                    return existing, False
            raise _SeqTaken from error
        return message, True

    async def _sent(self, room_id: str, sent_sk: str) -> Message | None:
        sent = await self._get(f"ROOM#{room_id}", sent_sk) if fits(sent_sk) else None
        return None if sent is None else await self.get_message(room_id, int(sent["seq"]["N"]))

    async def get_message(self, room_id: str, seq: int) -> Message:
        item = await self._get(f"ROOM#{room_id}", message_sk(seq)) if fits(room_id) and seq >= 0 else None
        if item is None:
            raise NotFound(f"no message {seq} in this room")
        return message_from(item)

    async def messages(self, room_id: str, *, after_seq: int | None, before_seq: int | None, limit: int) -> Page:
        low = (after_seq or 0) + 1
        high = (before_seq - 1) if before_seq is not None else 10**SEQ_DIGITS - 1
        if not fits(room_id) or low > high:
            return Page(messages=[], has_more=False)
        items = await self._query(
            limit=limit + 1,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": string(f"ROOM#{room_id}"),
                ":lo": string(message_sk(low)),
                ":hi": string(message_sk(high)),
            },
            ScanIndexForward=after_seq is not None,
        )
        page = [message_from(i) for i in items[:limit]]
        if after_seq is None:
            page.reverse()
        return Page(messages=page, has_more=len(items) > limit)

    async def sync(self, cursors: dict[str, int], *, limit: int) -> Page:
        return await sync_from(self, cursors, limit=limit)

    async def edit_message(self, *, room_id: str, seq: int, body: str) -> Message:
        return await self._update_message(room_id, seq, "SET body = :body, edited_at = :now", {":body": string(body)})

    async def delete_message(self, *, room_id: str, seq: int) -> Message:
        return await self._update_message(
            room_id,
            seq,
            "SET body = :body, deleted = :yes, edited_at = :now",
            {":body": string(""), ":yes": {"BOOL": True}},
        )

    async def _update_message(self, room_id: str, seq: int, update: str, values: Item) -> Message:
        if not fits(room_id) or seq < 0:
            raise NotFound(f"no message {seq} in this room")
        try:
            response = await self._call(
                "update_item",
                TableName=self.table,
                Key=item_key(f"ROOM#{room_id}", message_sk(seq)),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={**values, ":now": number(now_ms())},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            raise NotFound(f"no message {seq} in this room") from error
        return message_from(response["Attributes"])

    async def mark_read(self, *, room_id: str, user_id: str, seq: int) -> int:
        room = await self._get(f"ROOM#{room_id}", "ROOM") if fits(room_id) and fits(user_id) else None
        if room is None:
            raise NotFound("no such membership")
        target = min(seq, int(room["last_seq"]["N"]))
        member_key = item_key(f"ROOM#{room_id}", f"ROOM#MEMBER#{user_id}")
        try:
            await self._call(
                "update_item",
                TableName=self.table,
                Key=member_key,
                UpdateExpression="SET read_seq = :target",
                ConditionExpression="attribute_exists(pk) AND read_seq < :target",
                ExpressionAttributeValues={":target": number(target)},
            )
            return target
        except ClientError:
            member = await self._get(member_key["pk"]["S"], member_key["sk"]["S"])
            if member is None:
                raise NotFound("no such membership") from None
            return int(member["read_seq"]["N"])  # already at or past the target

    async def bump_epochs(self, *, seen: Mapping[str, int] | None = None) -> int:
        """A full scan: rooms are found by their items alone, as nothing indexes them (restores are rare)."""
        seen = seen or {}
        request: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": True,
            "FilterExpression": "sk = :room",
            "ExpressionAttributeValues": {":room": string("ROOM")},
            "ProjectionExpression": "pk, epoch",
        }
        bumped = 0
        while True:
            response = await self._call("scan", **request)
            for item in response.get("Items", []):
                room_id = item["pk"]["S"].removeprefix("ROOM#")
                epoch = int(item["epoch"]["N"]) + 1
                if room_id in seen and epoch <= seen[room_id]:
                    epoch = seen[room_id] + 1
                await self._call(
                    "update_item",
                    TableName=self.table,
                    Key=item_key(item["pk"]["S"], "ROOM"),
                    UpdateExpression="SET epoch = :epoch",
                    ExpressionAttributeValues={":epoch": number(epoch)},
                )
                bumped += 1
            if "LastEvaluatedKey" not in response:
                return bumped
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
