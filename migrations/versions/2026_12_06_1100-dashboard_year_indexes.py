"""Indexes for a dashboard over a year of data (issue 19)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 11:00:00+00:00

With 20,000 cases and 200,000 instructions the completion chart and the scorecard read their
window through `created_at`, the deadlines their recent lapses among a year of expired
stop-payments, the scorecard which institutions have any instruction through
`institution_id`, and every masked account number whether it is a victim's own through the
victim links alone (BENCHMARKS.md, Dashboard).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_instruction_created_at", "instruction", ["created_at"])
    op.create_index("ix_instruction_institution_id", "instruction", ["institution_id"])
    op.create_index(
        "ix_instruction_expired_expiry",
        "instruction",
        ["expires_at"],
        postgresql_where=sa.text("state = 'expired'"),
    )
    op.create_index(
        "ix_case_account_victim_account_id",
        "case_account",
        ["account_id"],
        postgresql_where=sa.text("role = 'victim'"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_account_victim_account_id", table_name="case_account")
    op.drop_index("ix_instruction_expired_expiry", table_name="instruction")
    op.drop_index("ix_instruction_institution_id", table_name="instruction")
    op.drop_index("ix_instruction_created_at", table_name="instruction")
