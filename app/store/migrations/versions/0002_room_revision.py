"""rooms.revision: bumped by every write to a room's history, so reads know when a replica has caught up.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rooms", sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"))
    # Existing rooms start where their history is: one revision per message is a safe lower bound.
    op.execute("UPDATE rooms SET revision = last_seq")


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("revision")
