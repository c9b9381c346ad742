"""Dispatch leases, what each instruction sent, circuit-breaker state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:07:44.006946+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "institution",
        sa.Column("breaker_state", sa.String(length=12), server_default="closed", nullable=False),
    )
    op.add_column(
        "institution", sa.Column("breaker_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_institution_breaker_state"),
        "institution",
        "breaker_state IN ('closed', 'open', 'half_open')",
    )
    op.add_column("instruction", sa.Column("holder_name", sa.String(length=200), nullable=True))
    op.add_column(
        "instruction", sa.Column("transaction_time", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "instruction", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("instruction", "lease_until")
    op.drop_column("instruction", "transaction_time")
    op.drop_column("instruction", "holder_name")
    op.drop_constraint(op.f("ck_institution_breaker_state"), "institution", type_="check")
    op.drop_column("institution", "breaker_changed_at")
    op.drop_column("institution", "breaker_state")
