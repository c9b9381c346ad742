"""Indexes for the case roll-up's probes (issue 19)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 12:00:00+00:00

A callback that leaves its case `stopping` asks whether a stop-payment of the case is still
open and whether the case has a freeze, through these, instead of counting every instruction
of the case (app/flows/rollup.py).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_instruction_case_open",
        "instruction",
        ["case_id"],
        postgresql_where=sa.text("state IN ('pending', 'sent', 'escalated')"),
    )
    op.create_index(
        "ix_instruction_case_freeze",
        "instruction",
        ["case_id"],
        postgresql_where=sa.text("kind = 'freeze'"),
    )


def downgrade() -> None:
    op.drop_index("ix_instruction_case_freeze", table_name="instruction")
    op.drop_index("ix_instruction_case_open", table_name="instruction")
