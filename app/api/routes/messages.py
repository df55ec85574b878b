"""Messages: send, page through history, edit, delete, mark read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import ChatDep, CurrentUser
from app.domain import MAX_SEQ, PAGE_MAX
from app.schemas import EditIn, MessageIn, ReadIn

SeqPath = Annotated[int, Path(ge=1, le=MAX_SEQ)]
router = APIRouter(prefix="/rooms/{room_id}", tags=["messages"])


@router.post("/messages", status_code=status.HTTP_201_CREATED)
async def send(room_id: str, body: MessageIn, user: CurrentUser, chat: ChatDep, response: Response) -> dict[str, Any]:
    message, created = await chat.send(user, room_id=room_id, client_msg_id=body.client_msg_id, body=body.body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return message.public()


@router.get("/messages")
async def history(
    room_id: str,
    user: CurrentUser,
    chat: ChatDep,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    limit: Annotated[int | None, Query(ge=1, le=PAGE_MAX)] = None,
) -> dict[str, Any]:
    page = await chat.history(user, room_id, after_seq=after_seq, before_seq=before_seq, limit=limit)
    return {"messages": [m.public() for m in page.messages], "has_more": page.has_more}


@router.patch("/messages/{seq}")
async def edit(room_id: str, seq: SeqPath, body: EditIn, user: CurrentUser, chat: ChatDep) -> dict[str, Any]:
    return (await chat.edit(user, room_id=room_id, seq=seq, body=body.body)).public()


@router.delete("/messages/{seq}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(room_id: str, seq: SeqPath, user: CurrentUser, chat: ChatDep) -> None:
    await chat.delete(user, room_id=room_id, seq=seq)


@router.post("/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(room_id: str, body: ReadIn, user: CurrentUser, chat: ChatDep) -> None:
    await chat.mark_read(user, room_id=room_id, seq=body.seq)
