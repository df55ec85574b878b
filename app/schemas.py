"""Request bodies and client frames, validated by pydantic; their errors become `invalid_request`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError

from app.domain import RoomKind

RequestId = StrictStr | StrictInt | None


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RegisterIn(Body):
    username: StrictStr
    password: StrictStr
    display_name: StrictStr | None = None


class LoginIn(Body):
    username: StrictStr
    password: StrictStr


class RoomIn(Body):
    kind: RoomKind
    name: StrictStr | None = None
    members: list[StrictStr] = Field(default_factory=list, max_length=1000)


class MemberIn(Body):
    username: StrictStr


class MessageIn(Body):
    client_msg_id: StrictStr
    body: StrictStr


class EditIn(Body):
    body: StrictStr


class ReadIn(Body):
    seq: StrictInt


class SendFrame(Body):
    type: Literal["send"]
    id: RequestId = None
    room_id: StrictStr
    client_msg_id: StrictStr
    body: StrictStr


class SyncFrame(Body):
    type: Literal["sync"]
    id: RequestId = None
    rooms: dict[StrictStr, StrictInt] = Field(max_length=1000)


class ReadFrame(Body):
    type: Literal["read"]
    id: RequestId = None
    room_id: StrictStr
    seq: StrictInt


class TypingFrame(Body):
    type: Literal["typing"]
    id: RequestId = None
    room_id: StrictStr


class PingFrame(Body):
    type: Literal["ping"]
    id: RequestId = None


ClientFrame = Annotated[SendFrame | SyncFrame | ReadFrame | TypingFrame | PingFrame, Field(discriminator="type")]
FRAME_TYPES = ("send", "sync", "read", "typing", "ping")
client_frame: TypeAdapter[SendFrame | SyncFrame | ReadFrame | TypingFrame | PingFrame] = TypeAdapter(
    ClientFrame  # type: ignore[arg-type]
)


def describe(error: ValidationError) -> str:
    """One readable line for the first problem: `rooms.abc: Input should be a valid integer`."""
    first = error.errors(include_url=False)[0]
    if first["type"] == "union_tag_invalid":
        return f"unknown frame type; expected one of: {', '.join(FRAME_TYPES)}"
    if first["type"] == "union_tag_not_found":
        return "every frame needs a string field 'type'"
    if not first["loc"] and first["type"] in ("model_type", "model_attributes_type"):
        return "a frame must be one JSON object"
    where = ".".join(str(part) for part in first["loc"] if part not in FRAME_TYPES)
    return f"{where}: {first['msg']}" if where else str(first["msg"])
