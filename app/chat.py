"""The chat service: every operation a client can ask for, authorised by the domain rules, persisted in
the store, then announced on the bus. REST routes, the WebSocket gateway and the serverless handlers all
call this one class."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from app import frames
from app.bus.base import Bus, Event
from app.domain import (
    PAGE_MAX,
    Message,
    Role,
    Room,
    RoomKind,
    User,
    check_add_member,
    check_body,
    check_client_msg_id,
    check_delete,
    check_edit,
    check_remove_member,
    check_room_name,
    normalise_username,
    now_ms,
    page_limit,
    require_member,
)
from app.errors import Forbidden, Invalid, NotFound, Unavailable
from app.metrics import Metrics
from app.ratelimit import SendLimiter
from app.store.base import Page, RoomView, Store

log = logging.getLogger(__name__)

OnStored = Callable[[Message], None]
REANNOUNCE_AFTER_MS = 2000


class Chat:
    def __init__(self, *, store: Store, bus: Bus, metrics: Metrics, max_body_bytes: int, limiter: SendLimiter) -> None:
        self.store = store
        self.bus = bus
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.limiter = limiter

    async def _announce(self, user_ids: Iterable[str], frame: str, kind: str = "") -> None:
        """Best effort: the store already holds the truth, so a bus failure is counted, not raised."""
        try:
            await self.bus.publish(Event(user_ids=tuple(user_ids), frame=frame, kind=kind))
        except Unavailable as error:
            self.metrics.bus_failures.inc()
            log.warning("event not published: %s", error.detail)

    async def _member_ids(self, room_id: str, actor: User) -> list[str]:
        member_ids = await self.store.room_member_ids(room_id)
        if actor.id not in member_ids:
            if not member_ids:
                raise NotFound("no such room")
            raise Forbidden("you are not a member of this room")
        return member_ids

    # Rooms

    async def create_room(
        self, actor: User, *, kind: RoomKind, name: str | None, members: list[str]
    ) -> tuple[Room, bool]:
        usernames = sorted({normalise_username(m) for m in members} - {actor.username})
        if kind is RoomKind.DIRECT and len(usernames) != 1:
            raise Invalid("a direct room has exactly one other member")
        found = await self.store.users_by_username(usernames)
        if missing := [u for u in usernames if u not in found]:
            raise NotFound(f"no such user: {', '.join(missing)}")
        room, created = await self.store.create_room(
            kind=kind, name=check_room_name(name, kind), owner=actor, others=[found[u] for u in usernames]
        )
        if created:
            await self._announce(room.member_ids(), frames.room_updated(room))
            await self._introduce(room.member_ids())
        else:
            require_member(room, actor.id)
        return room, created

    async def rooms(self, actor: User) -> list[RoomView]:
        return await self.store.rooms_for(actor.id)

    async def room(self, actor: User, room_id: str) -> Room:
        room = await self.store.get_room(room_id)
        require_member(room, actor.id)
        return room

    async def add_member(self, actor: User, room_id: str, username: str) -> Room:
        room = await self.store.get_room(room_id)
        check_add_member(room, actor.id)
        found = await self.store.users_by_username([normalise_username(username)])
        if not found:
            raise NotFound(f"no such user: {username}")
        (user,) = found.values()
        if room.role_of(user.id) is not None:
            return room
        room = await self.store.add_member(room_id=room_id, user_id=user.id, role=Role.MEMBER)
        await self._announce(room.member_ids(), frames.room_updated(room))
        await self._introduce(room.member_ids())
        return room

    async def remove_member(self, actor: User, room_id: str, username: str) -> Room:
        room = await self.store.get_room(room_id)
        target = next((m.user for m in room.members if m.user.username == username.strip().lower()), None)
        if target is None:
            require_member(room, actor.id)
            raise NotFound("that user is not a member of this room")
        check_remove_member(room, actor.id, target.id)
        updated = await self.store.remove_member(room_id=room_id, user_id=target.id)
        await self._announce([*updated.member_ids(), target.id], frames.room_updated(updated))
        return updated

    # Messages

    async def send(
        self, actor: User, *, room_id: str, client_msg_id: str, body: str, on_stored: OnStored | None = None
    ) -> tuple[Message, bool]:
        """Store a message and announce it. `on_stored` runs between the two, so the sending connection's
        `ack` goes out before the `message` frames (protocol.md)."""
        check_client_msg_id(client_msg_id)
        check_body(body, max_bytes=self.max_body_bytes)
        await self.limiter.check(actor.id)
        member_ids = await self._member_ids(room_id, actor)
        message, created = await self.store.append_message(
            room_id=room_id, sender_id=actor.id, client_msg_id=client_msg_id, body=body
        )
        if on_stored is not None:
            on_stored(message)
        if created:
            self.metrics.messages_sent.inc()
        if created or now_ms() - message.created_at > REANNOUNCE_AFTER_MS:
            # A resend long after the original (the sender reconnected) may follow a node that stored the
            # message and died before announcing it: announce again; clients drop seqs they hold.
            await self._announce(member_ids, frames.message(message), kind="message")
        return message, created

    async def history(
        self, actor: User, room_id: str, *, after_seq: int | None, before_seq: int | None, limit: int | None
    ) -> Page:
        if after_seq is not None and before_seq is not None:
            raise Invalid("give after_seq or before_seq, not both")
        if (after_seq is not None and after_seq < 0) or (before_seq is not None and before_seq < 1):
            raise Invalid("after_seq must be >= 0 and before_seq >= 1")
        await self._member_ids(room_id, actor)
        return await self.store.messages(room_id, after_seq=after_seq, before_seq=before_seq, limit=page_limit(limit))

    async def sync(self, actor: User, cursors: dict[str, int], *, limit: int = PAGE_MAX) -> Page:
        if any(seq < 0 for seq in cursors.values()):
            raise Invalid("every cursor must be >= 0")
        mine = set(await self.store.room_ids_for(actor.id))
        if foreign := [room_id for room_id in cursors if room_id not in mine]:
            raise Forbidden(f"you are not a member of room {foreign[0]}")
        return await self.store.sync(cursors, limit=limit)

    async def edit(self, actor: User, *, room_id: str, seq: int, body: str) -> Message:
        check_body(body, max_bytes=self.max_body_bytes)
        member_ids = await self._member_ids(room_id, actor)
        check_edit(await self.store.get_message(room_id, seq), actor.id)
        message = await self.store.edit_message(room_id=room_id, seq=seq, body=body)
        await self._announce(member_ids, frames.message_edited(message))
        return message

    async def delete(self, actor: User, *, room_id: str, seq: int) -> None:
        room = await self.room(actor, room_id)
        message = await self.store.get_message(room_id, seq)
        check_delete(message, room, actor.id)
        if not message.deleted:
            await self.store.delete_message(room_id=room_id, seq=seq)
            await self._announce(room.member_ids(), frames.message_deleted(room_id, seq))

    async def mark_read(self, actor: User, *, room_id: str, seq: int) -> int:
        if seq < 0:
            raise Invalid("seq must be >= 0")
        member_ids = await self._member_ids(room_id, actor)
        cursor = await self.store.mark_read(room_id=room_id, user_id=actor.id, seq=seq)
        await self._announce(member_ids, frames.read(room_id, actor, cursor))
        return cursor

    async def typing(self, actor: User, *, room_id: str) -> None:
        member_ids = await self._member_ids(room_id, actor)
        await self._announce([m for m in member_ids if m != actor.id], frames.typing(room_id, actor))

    # Presence

    async def came_online(self, actor: User, *, first_on_node: bool) -> set[str]:
        """Announce the user to their contacts if this is their first connection anywhere; return which
        of their contacts are online now."""
        contacts = await self.store.contacts(actor.id)
        if first_on_node and await self.bus.connected(actor.id):
            await self._announce(contacts, frames.presence(actor.id, True))
        return await self.bus.online(contacts)

    async def _introduce(self, member_ids: list[str]) -> None:
        """New room-mates learn each other's presence at once, not at their next connection."""
        try:
            online = await self.bus.online(member_ids)
        except Unavailable:
            return
        for user_id in sorted(online):
            await self._announce([m for m in member_ids if m != user_id], frames.presence(user_id, True))

    async def went_offline(self, actor: User) -> None:
        if await self.bus.disconnected(actor.id):
            await self.announce_offline([actor.id])

    async def announce_offline(self, user_ids: list[str]) -> None:
        for user_id in user_ids:
            await self._announce(await self.store.contacts(user_id), frames.presence(user_id, False))
