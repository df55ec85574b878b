"""The `Store` interface: Parley's source of truth.

Contract every backend keeps (the conformance suite in tests/store checks each one):
- `append_message` allocates the room's next `seq` in the same atomic write that persists the message:
  within a room seqs start at 1 and grow by exactly 1, with no gap or duplicate, however many writers on
  however many processes.
- `append_message` is idempotent on (room, sender, client_msg_id): a repeat returns the stored message and
  `created=False`, enforced by the database itself (unique constraint or conditional write), never a cache.
- A deleted message stays as a tombstone, so seq stays gap-free; read cursors only move forward.
- Errors are the domain's (`NotFound`, `Conflict`, `Invalid`, `Unavailable`), never driver exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from app.domain import Message, Role, Room, RoomKind, User


@dataclass(frozen=True, slots=True)
class Credentials:
    user: User
    password_hash: str


@dataclass(frozen=True, slots=True)
class RoomView:
    """A room as one member sees it in their room list."""

    room: Room
    read_seq: int
    unread: int


@dataclass(frozen=True, slots=True)
class Page:
    messages: list[Message]
    has_more: bool


class Store(Protocol):
    async def create_user(self, *, username: str, display_name: str, password_hash: str) -> User:
        """Create a user; `Conflict` if the username is taken."""

    async def credentials(self, username: str) -> Credentials | None: ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def users_by_username(self, usernames: list[str]) -> dict[str, User]: ...

    async def create_room(
        self, *, kind: RoomKind, name: str | None, owner: User, others: list[User]
    ) -> tuple[Room, bool]:
        """Create a room owned by `owner`. A direct room between the same two users already there is
        returned with `created=False` instead of a second one."""

    async def get_room(self, room_id: str) -> Room:
        """The room with its members; `NotFound` if there is none."""

    async def rooms_for(self, user_id: str) -> list[RoomView]: ...

    async def room_ids_for(self, user_id: str) -> list[str]: ...

    async def room_member_ids(self, room_id: str) -> list[str]:
        """Members' ids, cheap enough for every send; empty if the room does not exist."""

    async def contacts(self, user_id: str) -> list[str]:
        """Ids of every user sharing at least one room with `user_id` (for presence)."""

    async def add_member(self, *, room_id: str, user_id: str, role: Role) -> Room: ...

    async def remove_member(self, *, room_id: str, user_id: str) -> Room: ...

    async def append_message(
        self, *, room_id: str, sender_id: str, client_msg_id: str, body: str
    ) -> tuple[Message, bool]: ...

    async def get_message(self, room_id: str, seq: int) -> Message:
        """`NotFound` if there is no such seq in the room."""

    async def messages(self, room_id: str, *, after_seq: int | None, before_seq: int | None, limit: int) -> Page:
        """Ascending seq. `after_seq`: the next `limit` after it; `before_seq`: the `limit` just before it;
        neither: the latest `limit`. `has_more` says whether more lie in the direction asked."""

    async def sync(self, cursors: dict[str, int], *, limit: int) -> Page:
        """Messages after each room's cursor, rooms in the order given, at most `limit` in all."""

    async def edit_message(self, *, room_id: str, seq: int, body: str) -> Message: ...

    async def delete_message(self, *, room_id: str, seq: int) -> Message: ...

    async def mark_read(self, *, room_id: str, user_id: str, seq: int) -> int:
        """Move the cursor forward (never back, never past last_seq); return the cursor now."""

    async def bump_epochs(self, *, seen: Mapping[str, int] | None = None) -> int:
        """Give every room a new epoch (after a restore); return how many rooms. `seen` maps room ids to
        epochs clients may already hold (those before the restore): each such room ends above it, so
        restoring the same archive twice still moves every room to an epoch no client has seen."""

    async def ping(self) -> None:
        """Raise `Unavailable` unless the store answers now."""

    async def close(self) -> None: ...


async def sync_from(store: Store, cursors: dict[str, int], *, limit: int) -> Page:
    """`Store.sync` in terms of `Store.messages`: rooms in the order given, at most `limit` messages in all."""
    found: list[Message] = []
    for room_id, after_seq in cursors.items():
        page = await store.messages(room_id, after_seq=after_seq, before_seq=None, limit=limit - len(found))
        found.extend(page.messages)
        if page.has_more or len(found) >= limit:
            return Page(messages=found, has_more=True)
    return Page(messages=found, has_more=False)
