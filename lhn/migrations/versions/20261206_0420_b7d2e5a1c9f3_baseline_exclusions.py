"""baseline exclusions: a period's point left out of its phase's baseline, with a reason

Revision ID: b7d2e5a1c9f3
Revises: 7a3c9e1f2b64
Create Date: 2026-12-06 04:20:00

"""
import sqlalchemy as sa
from alembic import op

import lhn.database

revision = "b7d2e5a1c9f3"
down_revision = "7a3c9e1f2b64"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "measure_exclusion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", lhn.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_measure_exclusion_created_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["institution_id"], ["institution.id"],
                                name=op.f("fk_measure_exclusion_institution_id_institution"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["measure_id"], ["measure.id"], name=op.f("fk_measure_exclusion_measure_id_measure"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_exclusion")),
        sa.UniqueConstraint("measure_id", "institution_id", "period_start",
                            name="uq_measure_exclusion_measure_site_period"),
    )
    with op.batch_alter_table("measure_exclusion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measure_exclusion_measure_id"), ["measure_id"], unique=False)


def downgrade():
    with op.batch_alter_table("measure_exclusion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_exclusion_measure_id"))
    op.drop_table("measure_exclusion")
