"""Request bodies and client frames, validated by pydantic; their errors become `invalid_request`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError

from app.domain import MAX_SEQ, RoomKind


def _storable(value: str) -> str:
    """Every database can store it: valid UTF-8 (no lone surrogates) and no NUL character."""
    try:
        value.encode()
    except UnicodeEncodeError as error:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from error
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Text = Annotated[StrictStr, AfterValidator(_storable)]
Seq = Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]
RequestId = StrictStr | StrictInt | None


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RegisterIn(Body):
    username: Text
    password: Text
    display_name: Text | None = None


class LoginIn(Body):
    username: Text
    password: Text


class RoomIn(Body):
    kind: RoomKind
    name: Text | None = None
    members: list[Text] = Field(default_factory=list, max_length=1000)


class MemberIn(Body):
    username: Text


class MessageIn(Body):
    client_msg_id: Text
    body: Text


class EditIn(Body):
    body: Text


class ReadIn(Body):
    seq: Seq


class SendFrame(Body):
    type: Literal["send"]
    id: RequestId = None
    room_id: Text
    client_msg_id: Text
    body: Text


class SyncFrame(Body):
    type: Literal["sync"]
    id: RequestId = None
    rooms: dict[Text, Seq] = Field(max_length=1000)


class ReadFrame(Body):
    type: Literal["read"]
    id: RequestId = None
    room_id: Text
    seq: Seq


class TypingFrame(Body):
    type: Literal["typing"]
    id: RequestId = None
    room_id: Text


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
