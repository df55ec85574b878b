"""The SQL schema, shared by the SQL store and the Alembic migrations."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()
# On MySQL/MariaDB: full Unicode, and binary collation so ids and client_msg_id compare exactly.
MYSQL_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}

# Times are epoch milliseconds: one portable type on SQLite, PostgreSQL and MariaDB.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("username", sa.String(32), nullable=False, unique=True),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    **MYSQL_OPTIONS,
)

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(100)),
    # "<user id>:<user id>" sorted, for direct rooms only: one direct room per pair, by constraint.
    sa.Column("direct_key", sa.String(65), unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("epoch", sa.Integer, nullable=False, server_default="1"),
    # Set by the same statement that allocates a seq, so room lists sort by activity for free.
    sa.Column("last_message_at", sa.BigInteger),
    # Bumped by every write to the room's history (message, edit, delete): how far a replica has caught up.
    sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
    **MYSQL_OPTIONS,
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("read_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("joined_at", sa.BigInteger, nullable=False),
    sa.Index("ix_members_user_id", "user_id"),
    **MYSQL_OPTIONS,
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("sender_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("client_msg_id", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("edited_at", sa.BigInteger),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
    sa.UniqueConstraint("room_id", "sender_id", "client_msg_id", name="uq_messages_idempotency"),
    **MYSQL_OPTIONS,
)
