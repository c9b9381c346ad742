"""resend once per original; Idempotency-Key for every action

`instruction.replaces_id` names the stop-payment a corrected resend replaces; it is unique,
so two resends of one original cannot both commit. Resends made before this revision are
linked from their audit events (the first resend of each original; later duplicates stay
unlinked, as they were made). `idempotency_key.action` says which route a key was used on.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-04 22:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("instruction", sa.Column("replaces_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_instruction_replaces_id_instruction"),
        "instruction",
        "instruction",
        ["replaces_id"],
        ["id"],
    )
    op.execute(
        """
        UPDATE instruction AS i SET replaces_id = first.replaces
        FROM (
            SELECT (e.data ->> 'replaces')::bigint AS replaces, min(e.instruction_id) AS id
            FROM event AS e
            WHERE e.kind = 'instruction.resent' AND e.instruction_id IS NOT NULL
              AND e.data ? 'replaces'
            GROUP BY 1
        ) AS first
        WHERE i.id = first.id
        """
    )
    op.create_unique_constraint(op.f("uq_instruction_replaces_id"), "instruction", ["replaces_id"])
    op.add_column("idempotency_key", sa.Column("action", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("idempotency_key", "action")
    op.drop_constraint(op.f("uq_instruction_replaces_id"), "instruction", type_="unique")
    op.drop_constraint(
        op.f("fk_instruction_replaces_id_instruction"), "instruction", type_="foreignkey"
    )
    op.drop_column("instruction", "replaces_id")
