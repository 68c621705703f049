"""invite codes stored hashed; invites get an id; one pending join request per user and room

Existing codes are hashed here with the server's SECRET_KEY, as the application hashes
them (HMAC-SHA256), so links already handed out keep working. Join requests point at their
invite by id instead of carrying its code. Duplicate pending requests (left by concurrent
accepts) are reduced to the oldest before the unique index is built.

Downgrading cannot bring plaintext codes back: it withdraws every invite.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 09:30:00

"""

import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PREFIX_LENGTH = 4
PENDING = sa.text("status = 'pending'")



def _invite_settings() -> list[sa.ColumnClause]:
    """What an invite is besides its code, for copying invites across the table's rebuild."""
    return [
        sa.column("room_id", sa.Integer()),
        sa.column("created_by", sa.Integer()),
        sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("max_uses", sa.Integer()),
        sa.column("uses", sa.Integer()),
        sa.column("requires_approval", sa.Boolean()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    ]


def _hash(code: str) -> str:
    """The application's `hash_secret`, frozen here as it was when this revision was written."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def _invite_columns(key: list[sa.Column]) -> list[sa.Column]:
    return [
        *key,
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_invites_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_invites_room_id_rooms"), ondelete="CASCADE"
        ),
    ]


def _drop_invites() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invites_room_id"))
    op.drop_table("invites")


def _index_invites_by_room() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invites_room_id"), ["room_id"], unique=False)


def upgrade():
    bind = op.get_bind()
    old_invites = sa.table("invites", sa.column("code", sa.String()), *_invite_settings())
    invites = bind.execute(sa.select(old_invites)).mappings().all()
    requests = bind.execute(
        sa.text("SELECT id, invite_code FROM join_requests WHERE invite_code IS NOT NULL")
    ).all()
    op.execute(
        "DELETE FROM join_requests WHERE status = 'pending' AND id NOT IN "
        "(SELECT min(id) FROM join_requests WHERE status = 'pending' GROUP BY room_id, user_id)"
    )

    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.drop_column("invite_code")
    _drop_invites()
    op.create_table(
        "invites",
        *_invite_columns(
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("code_hash", sa.String(length=64), nullable=False),
                sa.Column("code_prefix", sa.String(length=PREFIX_LENGTH), nullable=False),
            ]
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invites_code_hash")),
    )
    _index_invites_by_room()

    new_invites = sa.table(
        "invites",
        sa.column("id", sa.Integer()),
        sa.column("code_hash", sa.String()),
        sa.column("code_prefix", sa.String()),
        *_invite_settings(),
    )
    for invite in invites:
        settings = {key: value for key, value in invite.items() if key != "code"}
        code = invite["code"]
        bind.execute(
            new_invites.insert().values(code_hash=_hash(code), code_prefix=code[:PREFIX_LENGTH], **settings)
        )
    ids = dict(bind.execute(sa.select(new_invites.c.code_hash, new_invites.c.id)).all())

    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_join_requests_invite_id_invites"), "invites", ["invite_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(
            "ix_join_requests_room_id_user_id_pending",
            ["room_id", "user_id"],
            unique=True,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )
    for request_id, code in requests:
        bind.execute(
            sa.text("UPDATE join_requests SET invite_id = :invite_id WHERE id = :id"),
            {"invite_id": ids.get(_hash(code)), "id": request_id},
        )


def downgrade():
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_join_requests_room_id_user_id_pending")
        batch_op.drop_constraint(batch_op.f("fk_join_requests_invite_id_invites"), type_="foreignkey")
        batch_op.drop_column("invite_id")
        batch_op.add_column(sa.Column("invite_code", sa.String(length=32), nullable=True))
    _drop_invites()
    op.create_table(
        "invites",
        *_invite_columns([sa.Column("code", sa.String(length=32), nullable=False)]),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_invites")),
    )
    _index_invites_by_room()
