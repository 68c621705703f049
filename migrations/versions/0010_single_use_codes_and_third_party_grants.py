"""authorization codes remember their redemption; registered clients lose the password grant

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oauth2_authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used_at', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('family_id', sa.String(length=64), nullable=True))

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


def downgrade():
    with op.batch_alter_table('oauth2_authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('family_id')
        batch_op.drop_column('used_at')
