"""Parley's domain: records and the rules over them, free of I/O.

Everything a backend, the REST API, the WebSocket gateway or a Lambda handler must agree on lives here:
what a valid username, room or message is, who may do what in a room, and how read cursors move.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.errors import Forbidden, Invalid, PayloadTooLarge

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MAX_CLIENT_MSG_ID = 64
MAX_ROOM_NAME = 100
MAX_DISPLAY_NAME = 64
MAX_GROUP_MEMBERS = 1000
PAGE_DEFAULT = 50
PAGE_MAX = 200
MAX_SEQ = 2**63 - 1  # the largest value a BIGINT column holds


class RoomKind(StrEnum):
    GROUP = "group"
    DIRECT = "direct"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


def new_id() -> str:
    return uuid.uuid4().hex


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rfc3339(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    display_name: str

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name}


@dataclass(frozen=True, slots=True)
class Member:
    user: User
    role: Role
    read_seq: int = 0


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    kind: RoomKind
    name: str | None
    created_at: int
    last_seq: int
    epoch: int
    members: tuple[Member, ...] = field(default=())

    def role_of(self, user_id: str) -> Role | None:
        for member in self.members:
            if member.user.id == user_id:
                return member.role
        return None

    def member_ids(self) -> list[str]:
        return [m.user.id for m in self.members]

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "members": [{**m.user.public(), "role": m.role.value} for m in self.members],
            "created_at": rfc3339(self.created_at),
            "last_seq": self.last_seq,
            "epoch": self.epoch,
        }


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    room_id: str
    seq: int
    sender: str
    client_msg_id: str
    body: str
    created_at: int
    edited_at: int | None = None
    deleted: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "seq": self.seq,
            "sender": self.sender,
            "client_msg_id": self.client_msg_id,
            "body": "" if self.deleted else self.body,
            "created_at": rfc3339(self.created_at),
            "edited_at": rfc3339(self.edited_at),
            "deleted": self.deleted,
        }


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise Invalid(
            "username must be 2-32 characters: letters, digits, '_', '.', '-', starting with a letter or digit"
        )
    return name


def check_display_name(display_name: str) -> str:
    name = display_name.strip()
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise Invalid(f"display_name must be 1-{MAX_DISPLAY_NAME} characters")
    return name


def check_body(body: str, *, max_bytes: int) -> str:
    if not body.strip():
        raise Invalid("body must not be empty")
    size = len(body.encode())
    if size > max_bytes:
        raise PayloadTooLarge(f"body is {size} bytes; the limit is {max_bytes}")
    return body


def check_client_msg_id(client_msg_id: str) -> str:
    if not client_msg_id or len(client_msg_id) > MAX_CLIENT_MSG_ID:
        raise Invalid(f"client_msg_id must be 1-{MAX_CLIENT_MSG_ID} characters")
    return client_msg_id


def check_room_name(name: str | None, kind: RoomKind) -> str | None:
    if kind is RoomKind.DIRECT:
        return None
    name = (name or "").strip()
    if not name or len(name) > MAX_ROOM_NAME:
        raise Invalid(f"a group room needs a name of 1-{MAX_ROOM_NAME} characters")
    return name


def direct_key(a: str, b: str) -> str:
    """The one key a direct room between two users has, whoever created it."""
    if a == b:
        raise Invalid("a direct room needs one other member")
    return ":".join(sorted((a, b)))


def require_member(room: Room, user_id: str) -> Role:
    role = room.role_of(user_id)
    if role is None:
        raise Forbidden("you are not a member of this room")
    return role


def can_manage(role: Role) -> bool:
    return role in (Role.OWNER, Role.ADMIN)


def check_add_member(room: Room, actor_id: str) -> None:
    role = require_member(room, actor_id)
    if room.kind is RoomKind.DIRECT:
        raise Invalid("members of a direct room cannot change")
    if not can_manage(role):
        raise Forbidden("only the room's owner or an admin can add members")
    if len(room.members) >= MAX_GROUP_MEMBERS:
        raise Invalid(f"a group room holds at most {MAX_GROUP_MEMBERS} members")


def check_remove_member(room: Room, actor_id: str, target_id: str) -> None:
    role = require_member(room, actor_id)
    if room.kind is RoomKind.DIRECT:
        raise Invalid("members of a direct room cannot change")
    target_role = room.role_of(target_id)
    if target_role is None:
        raise Invalid("that user is not a member of this room")
    if actor_id == target_id:
        return
    if not can_manage(role):
        raise Forbidden("only the room's owner or an admin can remove other members")
    if target_role is Role.OWNER:
        raise Forbidden("the room's owner cannot be removed")


def check_edit(message: Message, actor_id: str) -> None:
    if message.sender != actor_id:
        raise Forbidden("only the sender can edit a message")
    if message.deleted:
        raise Invalid("a deleted message cannot be edited")


def check_delete(message: Message, room: Room, actor_id: str) -> None:
    role = require_member(room, actor_id)
    if message.sender != actor_id and not can_manage(role):
        raise Forbidden("only the sender or a room admin can delete a message")


def next_read_seq(current: int, requested: int, last_seq: int) -> int:
    """Read cursors only move forward, and never past the last message."""
    if requested < 0:
        raise Invalid("seq must be >= 0")
    return max(current, min(requested, last_seq))


def page_limit(limit: int | None) -> int:
    if limit is None:
        return PAGE_DEFAULT
    if limit < 1 or limit > PAGE_MAX:
        raise Invalid(f"limit must be 1-{PAGE_MAX}")
    return limit
