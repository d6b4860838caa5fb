"""communities: content_version (issue 11: whole pages cached for readers who are not logged in)

Revision ID: 7a3c9e1f2b64
Revises: ca428501bcb3
Create Date: 2026-12-05 21:45:00

Bumped in the same transaction as any change to the community or to one of its posts (lhn/posts/cache.py),
so a cached community page, search result or question page is never served after a change.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a3c9e1f2b64'
down_revision = 'ca428501bcb3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('community', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('community', schema=None) as batch_op:
        batch_op.drop_column('content_version')
