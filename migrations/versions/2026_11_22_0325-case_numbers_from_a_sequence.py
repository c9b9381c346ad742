"""Case numbers from a sequence instead of a locked daily counter row

The counter row stayed locked until each intake committed, so intakes waited for each
other (bench/intake.py). A sequence never waits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:25:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE case_no_seq")
    # Carry on from the highest number given out so far.
    op.execute(
        "SELECT setval('case_no_seq', GREATEST(1, COALESCE(MAX(last), 0)), MAX(last) IS NOT NULL) "
        "FROM case_number_counter"
    )
    op.drop_table("case_number_counter")


def downgrade() -> None:
    op.create_table(
        "case_number_counter",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_case_number_counter")),
    )
    op.execute("DROP SEQUENCE case_no_seq")
