"""Refused callbacks: signed outcomes that could not be true of their instruction

Kept with their reasons and a masked copy of the body; nothing of them is applied.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refused_callback",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("instruction_id", sa.BigInteger(), nullable=True),
        sa.Column("webhook_id", sa.String(length=128), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
            name=op.f("fk_refused_callback_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["instruction_id"],
            ["instruction.id"],
            name=op.f("fk_refused_callback_instruction_id_instruction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_callback")),
        sa.UniqueConstraint(
            "institution_id",
            "webhook_id",
            name=op.f("uq_refused_callback_institution_id_webhook_id"),
        ),
    )
    op.create_index(
        op.f("ix_refused_callback_instruction_id"),
        "refused_callback",
        ["instruction_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_refused_callback_instruction_id"), table_name="refused_callback")
    op.drop_table("refused_callback")
