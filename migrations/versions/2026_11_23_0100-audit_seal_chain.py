"""The audit chain: each event sealed with a hash over the previous seal, append-only

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 01:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_seal",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column(
            "sealed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_event_seal_event_id_event")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_event_seal")),
        sa.UniqueConstraint("event_id", name=op.f("uq_event_seal_event_id")),
    )
    op.execute(
        """
        CREATE FUNCTION event_seal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit chain (event_seal) is append-only';
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER event_seal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "
        "event_seal FOR EACH STATEMENT EXECUTE FUNCTION event_seal_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER event_seal_append_only ON event_seal")
    op.execute("DROP FUNCTION event_seal_append_only()")
    op.drop_table("event_seal")
