"""rooms keep their member count (maintained with each membership change), backfilled; users' display_name_key and the prefix indexes of user search

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("users", sa.Column("display_name_key", sa.String(length=64), nullable=True))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("display_name", sa.String))
    named = op.get_bind().execute(
        sa.select(users.c.id, users.c.display_name).where(users.c.display_name.is_not(None))
    )
    # Python's lower(), as the model sets it (SQLite's lowers ASCII only).
    keys = [{"user_id": user_id, "key": name.lower()} for user_id, name in named]
    if keys:
        op.get_bind().execute(sa.text("UPDATE users SET display_name_key = :key WHERE id = :user_id"), keys)
    # What prefix search reads: LIKE needs pattern ops on PostgreSQL; SQLite reads ranges.
    for column in ("username_key", "display_name_key"):
        op.create_index(
            f"ix_users_{column}_prefix", "users", [column], postgresql_ops={column: "varchar_pattern_ops"}
        )
    op.add_column("rooms", sa.Column("member_count", sa.Integer(), server_default="0", nullable=False))
    if postgresql:
        # No membership may change between the count and the commit (SQLite: the write lock holds).
        op.execute("LOCK TABLE memberships IN SHARE MODE")
    op.execute(
        "UPDATE rooms SET member_count = (SELECT count(*) FROM memberships WHERE memberships.room_id = rooms.id)"
    )


def downgrade() -> None:
    for column in ("username_key", "display_name_key"):
        op.drop_index(f"ix_users_{column}_prefix", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("display_name_key")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("member_count")
