"""Intake drafts: the call-taker's form saved on the server as they type

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 22:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_draft",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("draft_key", sa.String(length=200), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_intake_draft_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_draft")),
        sa.UniqueConstraint("user_id", "draft_key", name=op.f("uq_intake_draft_user_id_draft_key")),
    )


def downgrade() -> None:
    op.drop_table("intake_draft")
