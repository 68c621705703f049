"""events' room and user indexes and messages' parent index keep only the rows where the column is set

Most events name a room or a user, not both, and most messages are not replies: the full indexes
held an entry for every null, written by every INSERT and read by no query.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# (index, table, columns): each index's first column is the one that must be set.
INDEXES = (
    ("ix_events_room_id_id", "events", ["room_id", "id"]),
    ("ix_events_user_id_id", "events", ["user_id", "id"]),
    ("ix_messages_parent_id_id", "messages", ["parent_id", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.drop_index(name, table_name=table)
        where = sa.text(f"{columns[0]} IS NOT NULL")
        op.create_index(name, table, columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, table, columns in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
