"""trust: verifiers, verification expiry and revocation, moderators may vet, vetting standing and review due

Revision ID: b7c1e0a9d3f2
Revises: 3c9e1a7b5d20
Create Date: 2026-12-05 06:00:00

"""
from alembic import op
import sqlalchemy as sa

import lhn.database


revision = 'b7c1e0a9d3f2'
down_revision = '3c9e1a7b5d20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('is_verifier', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('verified_until', sa.Date(), nullable=True))
    with op.batch_alter_table('verification_request') as batch:
        batch.add_column(sa.Column('expires_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('revoked_at', lhn.database.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('revocation_reason', sa.Text(), server_default='', nullable=False))
        batch.create_foreign_key('fk_verification_request_revoked_by_id_user_account', 'user_account',
                                 ['revoked_by_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('community') as batch:
        batch.add_column(sa.Column('moderators_may_vet', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('vetting') as batch:
        batch.add_column(sa.Column('standing', sa.String(length=20), server_default='clinician', nullable=False))
        batch.add_column(sa.Column('review_due_at', lhn.database.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('vetting') as batch:
        batch.drop_column('review_due_at')
        batch.drop_column('standing')
    with op.batch_alter_table('community') as batch:
        batch.drop_column('moderators_may_vet')
    with op.batch_alter_table('verification_request') as batch:
        batch.drop_constraint('fk_verification_request_revoked_by_id_user_account', type_='foreignkey')
        batch.drop_column('revocation_reason')
        batch.drop_column('revoked_by_id')
        batch.drop_column('revoked_at')
        batch.drop_column('expires_on')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('verified_until')
        batch.drop_column('is_verifier')
