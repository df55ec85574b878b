"""Rooms and their members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from app.api.deps import ChatDep, CurrentUser
from app.schemas import MemberIn, RoomIn

router = APIRouter(prefix="/rooms", tags=["rooms"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_room(body: RoomIn, user: CurrentUser, chat: ChatDep, response: Response) -> dict[str, Any]:
    room, created = await chat.create_room(user, kind=body.kind, name=body.name, members=body.members)
    if not created:
        response.status_code = status.HTTP_200_OK
    return room.public()


@router.get("")
async def list_rooms(user: CurrentUser, chat: ChatDep) -> list[dict[str, Any]]:
    return [{**view.room.public(), "read_seq": view.read_seq, "unread": view.unread} for view in await chat.rooms(user)]


@router.get("/{room_id}")
async def get_room(room_id: str, user: CurrentUser, chat: ChatDep) -> dict[str, Any]:
    return (await chat.room(user, room_id)).public()


@router.post("/{room_id}/members")
async def add_member(room_id: str, body: MemberIn, user: CurrentUser, chat: ChatDep) -> dict[str, Any]:
    return (await chat.add_member(user, room_id, body.username)).public()


@router.delete("/{room_id}/members/{username}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(room_id: str, username: str, user: CurrentUser, chat: ChatDep) -> None:
    await chat.remove_member(user, room_id, username)
