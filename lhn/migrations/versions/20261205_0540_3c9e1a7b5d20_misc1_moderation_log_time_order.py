"""misc1: the moderation log reads by time (index) and holds whole thread titles (longer target label)

Revision ID: 3c9e1a7b5d20
Revises: 6f4edc200672
Create Date: 2026-12-05 05:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c9e1a7b5d20'
down_revision = '6f4edc200672'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('moderation_log', schema=None) as batch_op:
        batch_op.alter_column('target_label', existing_type=sa.String(length=40), type_=sa.String(length=120),
                              existing_nullable=False)
        batch_op.create_index('ix_moderation_log_community_time', ['community_id', 'created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('moderation_log', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_log_community_time')
        batch_op.alter_column('target_label', existing_type=sa.String(length=120), type_=sa.String(length=40),
                              existing_nullable=False)
