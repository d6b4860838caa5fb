"""reminders: the reminders that went out, each (kind, key) once

Revision ID: 5e1a7c3d9b42
Revises: 36d29752c505
Create Date: 2026-12-05 12:15:00

"""
from alembic import op
import sqlalchemy as sa

import lhn.database


# revision identifiers, used by Alembic.
revision = '5e1a7c3d9b42'
down_revision = '36d29752c505'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reminder_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('created_at', lhn.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_sent')),
    sa.UniqueConstraint('kind', 'key', name='uq_reminder_sent_kind_key')
    )


def downgrade():
    op.drop_table('reminder_sent')
