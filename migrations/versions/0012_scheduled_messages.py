"""scheduled messages (pending and failed), the send_at they keep once sent, and the scheduler's job leases

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("scheduler_jobs",
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("leased_by", sa.String(length=100), nullable=True),
    sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_handled", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_jobs"))
    )
    op.create_table("scheduled_messages",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("room_id", sa.Integer(), nullable=False),
    sa.Column("author_id", sa.Integer(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("parent_id", sa.Integer(), nullable=True),
    sa.Column("attachment_ids", sa.JSON(), nullable=False),
    sa.Column("client_msg_id", sa.String(length=64), nullable=True),
    sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("failure_reason", sa.String(length=32), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_scheduled_messages_author_id_users"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_scheduled_messages_room_id_rooms"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_messages"))
    )
    with op.batch_alter_table("scheduled_messages", schema=None) as batch_op:
        batch_op.create_index("ix_scheduled_messages_author_id_client_msg_id", ["author_id", "client_msg_id"], unique=True)
        batch_op.create_index("ix_scheduled_messages_author_id_id", ["author_id", "id"], unique=False)
        batch_op.create_index("ix_scheduled_messages_status_send_at", ["status", "send_at"], unique=False)

    # Plain ALTER TABLEs, here and in downgrade: a batch copy of `messages` on SQLite would drop
    # its full-text search triggers (0004).
    op.add_column("messages", sa.Column("send_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("messages", "send_at")

    with op.batch_alter_table("scheduled_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_messages_status_send_at")
        batch_op.drop_index("ix_scheduled_messages_author_id_id")
        batch_op.drop_index("ix_scheduled_messages_author_id_client_msg_id")

    op.drop_table("scheduled_messages")
    op.drop_table("scheduler_jobs")
