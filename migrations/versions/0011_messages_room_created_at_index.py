"""Index messages on (room_id, created_at) for retention.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_room_id_created_at", "messages", ["room_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_room_id_created_at", table_name="messages")
