"""Factories for test data, in one place."""

from __future__ import annotations

import itertools

from app.domain import Room, RoomKind, User
from app.store.base import Store

_counter = itertools.count(1)


async def make_user(store: Store, name: str | None = None) -> User:
    username = name or f"user{next(_counter)}"
    return await store.create_user(username=username, display_name=username.title(), password_hash="x")


async def make_group(store: Store, owner: User, *others: User, name: str = "general") -> Room:
    room, _ = await store.create_room(kind=RoomKind.GROUP, name=name, owner=owner, others=list(others))
    return room
