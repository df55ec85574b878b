"""The SQL store: SQLite (default), PostgreSQL and MariaDB/MySQL through SQLAlchemy 2 async Core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from app.domain import Member, Message, Role, Room, RoomKind, User, direct_key, new_id, now_ms
from app.errors import Conflict, Invalid, NotFound, Unavailable
from app.store.base import Credentials, Page, RoomView, sync_from
from app.store.tables import members, messages, rooms, users

_MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.room_id,
    messages.c.seq,
    messages.c.sender_id,
    messages.c.client_msg_id,
    messages.c.body,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted,
)
# Told whether the replica served a history read (True) or the primary had to (False).
ReplicaHook = Callable[[bool], None]
# Deadlocks and serialisation failures that a retry of the whole transaction resolves.
_TRANSIENT_CODES = {"40001", "40P01", 1213, 1205}


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine tuned for its database: SQLite in WAL mode with a busy timeout, MySQL in utf8mb4."""
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_async_engine(parsed, pool_size=pool_size, max_overflow=0)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return create_async_engine(
        parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _is_unreachable(error: BaseException) -> bool:
    """The database cannot serve now (down, restarting, connection lost), as opposed to a bad request."""
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError | OSError):
        return True  # exc.TimeoutError: no pooled connection freed up in time
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    # The driver's own error, wrapped or (asyncpg while connecting) not: SQLSTATE class 08 is a connection
    # exception, 57P an operator intervention (shutting down, starting up, not accepting connections).
    cause = error.orig if isinstance(error, exc.DBAPIError) else error
    state = str(getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None) or "")
    return state.startswith(("08", "57P"))


@contextmanager
def _domain_errors() -> Iterator[None]:
    """Driver errors as domain ones: a value the database refuses is `Invalid`, an unreachable database
    `Unavailable`; anything else passes unchanged."""
    try:
        yield
    except (exc.DataError, OverflowError) as error:
        raise Invalid(f"a value cannot be stored or compared: {type(error).__name__}") from error
    except Exception as error:
        if _is_unreachable(error):
            raise Unavailable(f"database unavailable: {type(error).__name__}") from error
        raise


def _is_transient(error: BaseException) -> bool:
    if not isinstance(error, exc.DBAPIError):
        return False
    orig = error.orig
    codes = {getattr(orig, "sqlstate", None), getattr(orig, "pgcode", None)}
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        codes.add(args[0])
    return bool(codes & _TRANSIENT_CODES) or "database is locked" in str(orig)


def _user(row: Any) -> User:
    return User(id=row.id, username=row.username, display_name=row.display_name)


def _message(row: Any) -> Message:
    return Message(
        id=row.id,
        room_id=row.room_id,
        seq=row.seq,
        sender=row.sender_id,
        client_msg_id=row.client_msg_id,
        body=row.body,
        created_at=row.created_at,
        edited_at=row.edited_at,
        deleted=bool(row.deleted),
    )


class SqlStore:
    """`Store` over SQLAlchemy. Seq allocation: `UPDATE rooms SET last_seq = last_seq + 1` takes the room's
    row lock (the database lock on SQLite) in the transaction that inserts the message, so concurrent
    senders on any number of processes queue on that row and each gets the next seq."""

    def __init__(
        self, engine: AsyncEngine, *, replica: AsyncEngine | None = None, on_replica_read: ReplicaHook | None = None
    ) -> None:
        self.engine = engine
        self.replica = replica
        self._on_replica_read = on_replica_read
        self._returning = engine.dialect.update_returning
        # SQLite has one writer at a time: queue this process's writers here rather than in the busy handler.
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        replica_url: str | None = None,
        on_replica_read: ReplicaHook | None = None,
    ) -> SqlStore:
        replica = make_engine(replica_url, pool_size=pool_size) if replica_url else None
        return cls(make_engine(url, pool_size=pool_size), replica=replica, on_replica_read=on_replica_read)

    @asynccontextmanager
    async def _read(self, engine: AsyncEngine | None = None) -> AsyncIterator[AsyncConnection]:
        with _domain_errors():
            async with (engine or self.engine).connect() as conn:
                # Reads need no transaction: autocommit spares a BEGIN and a ROLLBACK round trip each.
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn

    async def _transaction(self, work: Any) -> Any:
        """Run `work(conn)` in a write transaction, retrying deadlocks; driver errors become domain ones."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(5),
            wait=wait_random_exponential(multiplier=0.01, max=0.2),
            reraise=True,
        )
        with _domain_errors():
            async for attempt in retrying:
                with attempt:
                    if self._write_lock is None:
                        async with self.engine.begin() as conn:
                            return await work(conn)
                    async with self._write_lock, self.engine.begin() as conn:
                        return await work(conn)

    # Users

    async def create_user(self, *, username: str, display_name: str, password_hash: str) -> User:
        user = User(id=new_id(), username=username, display_name=display_name)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                users.insert().values(
                    id=user.id,
                    username=username,
                    display_name=display_name,
                    password_hash=password_hash,
                    created_at=now_ms(),
                )
            )

        try:
            await self._transaction(work)
        except exc.IntegrityError as error:
            raise Conflict(f"username {username!r} is taken") from error
        return user

    async def credentials(self, username: str) -> Credentials | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.username == username))).first()
        return None if row is None else Credentials(user=_user(row), password_hash=row.password_hash)

    async def get_user(self, user_id: str) -> User | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).first()
        return None if row is None else _user(row)

    async def users_by_username(self, usernames: list[str]) -> dict[str, User]:
        if not usernames:
            return {}
        async with self._read() as conn:
            rows = await conn.execute(sa.select(users).where(users.c.username.in_(usernames)))
        return {row.username: _user(row) for row in rows}

    # Rooms

    async def create_room(
        self, *, kind: RoomKind, name: str | None, owner: User, others: list[User]
    ) -> tuple[Room, bool]:
        key = direct_key(owner.id, others[0].id) if kind is RoomKind.DIRECT else None
        if key is not None and (existing := await self._direct_room(key)) is not None:
            return existing, False
        room_id, created = new_id(), now_ms()

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                rooms.insert().values(id=room_id, kind=kind.value, name=name, direct_key=key, created_at=created)
            )
            roles = [(owner, Role.OWNER)] + [(u, Role.MEMBER) for u in others if u.id != owner.id]
            await conn.execute(
                members.insert(),
                [{"room_id": room_id, "user_id": u.id, "role": r.value, "joined_at": created} for u, r in roles],
            )

        try:
            await self._transaction(work)
        except exc.IntegrityError:
            if key is not None and (existing := await self._direct_room(key)) is not None:
                return existing, False
            raise
        return await self.get_room(room_id), True

    async def _direct_room(self, key: str) -> Room | None:
        async with self._read() as conn:
            room_id = (await conn.execute(sa.select(rooms.c.id).where(rooms.c.direct_key == key))).scalar()
        return None if room_id is None else await self.get_room(room_id)

    async def get_room(self, room_id: str) -> Room:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(rooms).where(rooms.c.id == room_id))).first()
            if row is None:
                raise NotFound("no such room")
            member_rows = await conn.execute(self._members_query(members.c.room_id == room_id))
        return self._room(row, [(m.role, m.read_seq, _user(m)) for m in member_rows])

    @staticmethod
    def _members_query(where: Any) -> sa.Select[Any]:
        return (
            sa.select(
                members.c.room_id,
                members.c.role,
                members.c.read_seq,
                users.c.id,
                users.c.username,
                users.c.display_name,
            )
            .join(users, users.c.id == members.c.user_id)
            .where(where)
            .order_by(members.c.joined_at, users.c.username)
        )

    @staticmethod
    def _room(row: Any, member_rows: Sequence[tuple[str, int, User]]) -> Room:
        return Room(
            id=row.id,
            kind=RoomKind(row.kind),
            name=row.name,
            created_at=row.created_at,
            last_seq=row.last_seq,
            epoch=row.epoch,
            members=tuple(Member(user=u, role=Role(role), read_seq=read) for role, read, u in member_rows),
        )

    async def rooms_for(self, user_id: str) -> list[RoomView]:
        mine = sa.select(members.c.room_id).where(members.c.user_id == user_id)
        unread_query = (
            sa.select(messages.c.room_id, sa.func.count())
            .join(members, sa.and_(members.c.room_id == messages.c.room_id, members.c.user_id == user_id))
            .where(messages.c.seq > members.c.read_seq, messages.c.sender_id != user_id, ~messages.c.deleted)
            .group_by(messages.c.room_id)
        )
        async with self._read() as conn:
            room_rows = (await conn.execute(sa.select(rooms).where(rooms.c.id.in_(mine)))).all()
            member_rows = (await conn.execute(self._members_query(members.c.room_id.in_(mine)))).all()
            unread = dict((await conn.execute(unread_query)).tuples().all())
        by_room: dict[str, list[tuple[str, int, User]]] = {}
        for m in member_rows:
            by_room.setdefault(m.room_id, []).append((m.role, m.read_seq, _user(m)))
        views = []
        for row in sorted(room_rows, key=lambda r: r.last_message_at or r.created_at, reverse=True):
            room = self._room(row, by_room.get(row.id, []))
            read_seq = next(m.read_seq for m in room.members if m.user.id == user_id)
            views.append(RoomView(room=room, read_seq=read_seq, unread=unread.get(row.id, 0)))
        return views

    async def room_ids_for(self, user_id: str) -> list[str]:
        async with self._read() as conn:
            rows = await conn.execute(sa.select(members.c.room_id).where(members.c.user_id == user_id))
        return list(rows.scalars())

    async def room_member_ids(self, room_id: str) -> list[str]:
        async with self._read() as conn:
            rows = await conn.execute(sa.select(members.c.user_id).where(members.c.room_id == room_id))
        return list(rows.scalars())

    async def contacts(self, user_id: str) -> list[str]:
        other = members.alias("other")
        query = (
            sa.select(other.c.user_id)
            .join(members, members.c.room_id == other.c.room_id)
            .where(members.c.user_id == user_id, other.c.user_id != user_id)
            .distinct()
        )
        async with self._read() as conn:
            return list((await conn.execute(query)).scalars())

    async def add_member(self, *, room_id: str, user_id: str, role: Role) -> Room:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                members.insert().values(room_id=room_id, user_id=user_id, role=role.value, joined_at=now_ms())
            )

        try:
            await self._transaction(work)
        except exc.IntegrityError as error:
            raise Conflict("that user is already a member") from error
        return await self.get_room(room_id)

    async def remove_member(self, *, room_id: str, user_id: str) -> Room:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(members.delete().where(members.c.room_id == room_id, members.c.user_id == user_id))

        await self._transaction(work)
        return await self.get_room(room_id)

    # Messages

    async def append_message(
        self, *, room_id: str, sender_id: str, client_msg_id: str, body: str
    ) -> tuple[Message, bool]:
        # No read first: a repeat fails the unique constraint, its transaction (seq included) rolls back,
        # and the stored copy is fetched. Repeats are rare; every send saves a round trip.
        async def work(conn: AsyncConnection) -> Message:
            created = now_ms()
            bump = (
                rooms.update()
                .where(rooms.c.id == room_id)
                .values(last_seq=rooms.c.last_seq + 1, revision=rooms.c.revision + 1, last_message_at=created)
            )
            if self._returning:
                seq = (await conn.execute(bump.returning(rooms.c.last_seq))).scalar()
            elif (await conn.execute(bump)).rowcount:
                seq = (await conn.execute(sa.select(rooms.c.last_seq).where(rooms.c.id == room_id))).scalar()
            else:
                seq = None
            if seq is None:
                raise NotFound("no such room")
            message = Message(
                id=new_id(),
                room_id=room_id,
                seq=seq,
                sender=sender_id,
                client_msg_id=client_msg_id,
                body=body,
                created_at=created,
            )
            await conn.execute(
                messages.insert().values(
                    id=message.id,
                    room_id=room_id,
                    seq=seq,
                    sender_id=sender_id,
                    client_msg_id=client_msg_id,
                    body=body,
                    created_at=created,
                    deleted=False,
                )
            )
            return message

        try:
            return await self._transaction(work), True
        except exc.IntegrityError:
            # A concurrent send with the same client_msg_id won the unique constraint: answer with its copy.
            if (existing := await self._by_client_msg_id(room_id, sender_id, client_msg_id)) is not None:
                return existing, False
            raise

    async def _by_client_msg_id(self, room_id: str, sender_id: str, client_msg_id: str) -> Message | None:
        query = sa.select(*_MESSAGE_COLUMNS).where(
            messages.c.room_id == room_id,
            messages.c.sender_id == sender_id,
            messages.c.client_msg_id == client_msg_id,
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _message(row)

    async def get_message(self, room_id: str, seq: int) -> Message:
        query = sa.select(*_MESSAGE_COLUMNS).where(messages.c.room_id == room_id, messages.c.seq == seq)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"no message {seq} in this room")
        return _message(row)

    async def messages(self, room_id: str, *, after_seq: int | None, before_seq: int | None, limit: int) -> Page:
        """History and sync read the replica when there is one and it has caught up with the room; otherwise
        the primary answers (read your writes). Every write to a room's history (a message, an edit, a
        delete) bumps `rooms.revision` in its own transaction, so the replica may answer once its copy of
        the revision is at least the primary's: one primary-key read on the primary per history read."""
        if self.replica is None:
            return await self._messages(self.engine, room_id, after_seq, before_seq, limit)
        wanted = await self._revision(self.engine, room_id)
        try:
            if await self._revision(self.replica, room_id) >= wanted:
                page = await self._messages(self.replica, room_id, after_seq, before_seq, limit)
                self._replica_read(served=True)
                return page
        except Unavailable:
            pass
        self._replica_read(served=False)
        return await self._messages(self.engine, room_id, after_seq, before_seq, limit)

    async def _revision(self, engine: AsyncEngine, room_id: str) -> int:
        async with self._read(engine) as conn:
            return int((await conn.execute(sa.select(rooms.c.revision).where(rooms.c.id == room_id))).scalar() or 0)

    def _replica_read(self, *, served: bool) -> None:
        if self._on_replica_read is not None:
            self._on_replica_read(served)

    async def _messages(
        self, engine: AsyncEngine, room_id: str, after_seq: int | None, before_seq: int | None, limit: int
    ) -> Page:
        query = sa.select(*_MESSAGE_COLUMNS).where(messages.c.room_id == room_id).limit(limit + 1)
        if after_seq is not None:
            query = query.where(messages.c.seq > after_seq).order_by(messages.c.seq)
        else:
            if before_seq is not None:
                query = query.where(messages.c.seq < before_seq)
            query = query.order_by(messages.c.seq.desc())
        async with self._read(engine) as conn:
            rows = (await conn.execute(query)).all()
        page = [_message(r) for r in rows[:limit]]
        if after_seq is None:
            page.reverse()
        return Page(messages=page, has_more=len(rows) > limit)

    async def sync(self, cursors: dict[str, int], *, limit: int) -> Page:
        return await sync_from(self, cursors, limit=limit)

    async def edit_message(self, *, room_id: str, seq: int, body: str) -> Message:
        return await self._update_message(room_id, seq, body=body, edited_at=now_ms())

    async def delete_message(self, *, room_id: str, seq: int) -> Message:
        return await self._update_message(room_id, seq, body="", deleted=True, edited_at=now_ms())

    async def _update_message(self, room_id: str, seq: int, **values: Any) -> Message:
        async def work(conn: AsyncConnection) -> int:
            where = sa.and_(messages.c.room_id == room_id, messages.c.seq == seq)
            changed: int = (await conn.execute(messages.update().where(where).values(**values))).rowcount
            if changed:
                await conn.execute(rooms.update().where(rooms.c.id == room_id).values(revision=rooms.c.revision + 1))
            return changed

        if not await self._transaction(work):
            raise NotFound(f"no message {seq} in this room")
        return await self.get_message(room_id, seq)

    async def mark_read(self, *, room_id: str, user_id: str, seq: int) -> int:
        last_seq = sa.select(rooms.c.last_seq).where(rooms.c.id == room_id).scalar_subquery()
        target = sa.func.least(seq, last_seq) if self.engine.dialect.name != "sqlite" else sa.func.min(seq, last_seq)
        cursor = sa.select(members.c.read_seq).where(members.c.room_id == room_id, members.c.user_id == user_id)

        async def work(conn: AsyncConnection) -> int:
            await conn.execute(
                members.update()
                .where(members.c.room_id == room_id, members.c.user_id == user_id, members.c.read_seq < target)
                .values(read_seq=target)
            )
            value = (await conn.execute(cursor)).scalar()
            if value is None:
                raise NotFound("no such membership")
            return int(value)

        result: int = await self._transaction(work)
        return result

    async def bump_epochs(self, *, seen: Mapping[str, int] | None = None) -> int:
        async def work(conn: AsyncConnection) -> int:
            bumped = (await conn.execute(rooms.update().values(epoch=rooms.c.epoch + 1))).rowcount
            if seen:
                was = sa.bindparam("was", type_=sa.Integer)
                behind = rooms.update().where(rooms.c.id == sa.bindparam("room"), rooms.c.epoch <= was)
                await conn.execute(behind.values(epoch=was + 1), [{"room": r, "was": e} for r, e in seen.items()])
            return int(bumped)

        result: int = await self._transaction(work)
        return result

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
        if self.replica is not None:
            await self.replica.dispose()
