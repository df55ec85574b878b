"""Server-to-client frames, serialised once per fan-out (protocol.md)."""

from __future__ import annotations

from typing import Any

import orjson

from app.domain import Message, Room, User


def dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def message(msg: Message) -> str:
    return dumps({"type": "message", "message": msg.public()})


def message_edited(msg: Message) -> str:
    return dumps({"type": "message.edited", "message": msg.public()})


def message_deleted(room_id: str, seq: int) -> str:
    return dumps({"type": "message.deleted", "room_id": room_id, "seq": seq})


def read(room_id: str, user: User, seq: int) -> str:
    return dumps({"type": "read", "room_id": room_id, "user": user.public(), "seq": seq})


def typing(room_id: str, user: User) -> str:
    return dumps({"type": "typing", "room_id": room_id, "user": user.public()})


def presence(user_id: str, online: bool) -> str:
    return dumps({"type": "presence", "user": user_id, "online": online})


def room_updated(room: Room) -> str:
    return dumps({"type": "room.updated", "room": room.public()})


def error(code: str, detail: str, request_id: Any = None) -> str:
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if request_id is not None:
        frame["id"] = request_id
    return dumps(frame)
