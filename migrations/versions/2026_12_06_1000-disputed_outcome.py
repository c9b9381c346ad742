"""Disputed outcomes: a well-signed outcome that contradicts the one an instruction has

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 10:00:00+00:00

Until now a later, contradicting outcome was answered 200 `ignored` and forgotten. It is
kept here instead, shown to supervisors, and answered 409 `outcome-disputed`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disputed_outcome",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("instruction_id", sa.BigInteger(), nullable=False),
        sa.Column("webhook_id", sa.String(length=128), nullable=False),
        sa.Column("recorded_outcome", sa.String(length=32), nullable=False),
        sa.Column("recorded_amount_stopped", sa.Numeric(18, 2), nullable=True),
        sa.Column("reported_outcome", sa.String(length=32), nullable=False),
        sa.Column("reported_amount_stopped", sa.Numeric(18, 2), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_disputed_outcome_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["instruction_id"],
            ["instruction.id"],
            name=op.f("fk_disputed_outcome_instruction_id_instruction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputed_outcome")),
        sa.UniqueConstraint(
            "institution_id",
            "webhook_id",
            name=op.f("uq_disputed_outcome_institution_id_webhook_id"),
        ),
    )
    op.create_index(
        op.f("ix_disputed_outcome_instruction_id"), "disputed_outcome", ["instruction_id"]
    )
    op.create_index(
        "ix_disputed_outcome_institution_id_id", "disputed_outcome", ["institution_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_disputed_outcome_institution_id_id", table_name="disputed_outcome")
    op.drop_index(op.f("ix_disputed_outcome_instruction_id"), table_name="disputed_outcome")
    op.drop_table("disputed_outcome")
