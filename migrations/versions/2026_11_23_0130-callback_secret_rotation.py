"""Callback secret rotation: the previous secret stays valid during a change-over

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 01:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "institution", sa.Column("callback_secret_previous", sa.String(length=128), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("institution", "callback_secret_previous")
