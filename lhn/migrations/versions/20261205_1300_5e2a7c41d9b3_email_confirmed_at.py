"""accounts: email_confirmed_at (issue 13: confirming an address)

Revision ID: 5e2a7c41d9b3
Revises: 5e1a7c3d9b42
Create Date: 2026-12-05 12:30:00

Accounts from before stay unconfirmed (None): they were never confirmed, and the banner asks their owners to.
"""
from alembic import op
import sqlalchemy as sa

import lhn.database


# revision identifiers, used by Alembic.
revision = '5e2a7c41d9b3'
down_revision = '5e1a7c3d9b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', lhn.database.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
