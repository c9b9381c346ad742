"""Refused callbacks: indexes for each institution's latest, and for a window's count

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_refused_callback_institution_id_id",
        "refused_callback",
        ["institution_id", "id"],
    )
    op.create_index("ix_refused_callback_received_at", "refused_callback", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_refused_callback_received_at", table_name="refused_callback")
    op.drop_index("ix_refused_callback_institution_id_id", table_name="refused_callback")
