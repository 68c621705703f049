"""authorization codes remember their redemption; registered clients lose the password grant;
users remember from when reports count towards a ban, and tokens the password epoch they were issued in

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

"""
from datetime import timedelta

from alembic import op
from flask import current_app
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oauth2_authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used_at', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('family_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('user_epoch', sa.Integer(), server_default='0', nullable=False))

    # A third-party program must never see a user's password: clients registered by users
    # (those with an owner) keep every grant but `password`.
    clients = sa.table(
        'oauth2_clients', sa.column('id', sa.Integer()), sa.column('owner_id', sa.Integer()),
        sa.column('grant_types', sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(clients.c.id, clients.c.grant_types).where(clients.c.owner_id.is_not(None)))
    for client_id, grant_types in rows.all():
        if 'password' in grant_types:
            connection.execute(
                clients.update().where(clients.c.id == client_id)
                .values(grant_types=[grant for grant in grant_types if grant != 'password'])
            )

    with op.batch_alter_table('oauth2_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_epoch', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reports_count_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))
    # It was implied by the ban: reports counted from the start of the last one.
    users = sa.table(
        'users', sa.column('id', sa.Integer()), sa.column('banned_until', sa.DateTime(timezone=True)),
        sa.column('reports_count_from', sa.DateTime(timezone=True)),
    )
    ban = timedelta(seconds=current_app.config['REPORT_BAN_SECONDS'])
    banned = connection.execute(sa.select(users.c.id, users.c.banned_until).where(users.c.banned_until.is_not(None)))
    for user_id, banned_until in banned.all():
        connection.execute(
            users.update().where(users.c.id == user_id).values(reports_count_from=banned_until - ban)
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
        batch_op.drop_column('reports_count_from')

    with op.batch_alter_table('oauth2_tokens', schema=None) as batch_op:
        batch_op.drop_column('user_epoch')

    with op.batch_alter_table('oauth2_authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('user_epoch')
        batch_op.drop_column('family_id')
        batch_op.drop_column('used_at')
