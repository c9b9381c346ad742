"""The legal clock: freeze documents, releases, lapse warnings, returns, the settable clock

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'stopping', 'stopped', 'partly_stopped', 'nothing_stopped', 'closed'"
NEW_STATUSES = (
    "'stopping', 'stopped', 'partly_stopped', 'nothing_stopped', 'freezing', 'frozen', "
    "'returning', 'closed'"
)


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "document",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("document_no", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_document_size")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_document_case_id_case")),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["user.id"], name=op.f("fk_document_uploaded_by_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
    )
    op.create_index(op.f("ix_document_case_id"), "document", ["case_id"])

    op.add_column("instruction", sa.Column("released_at", sa.DateTime(timezone=True)))
    op.add_column("instruction", sa.Column("warned_at", sa.DateTime(timezone=True)))
    op.add_column("instruction", sa.Column("document_id", sa.BigInteger()))
    op.create_foreign_key(
        op.f("fk_instruction_document_id_document"),
        "instruction",
        "document",
        ["document_id"],
        ["id"],
    )

    op.create_table(
        "victim_return",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("payable_from", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=12), server_default="confirmed", nullable=False),
        sa.Column("batch", sa.String(length=32), nullable=False),
        sa.Column("confirmed_by", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_by", sa.Integer()),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("reference", sa.String(length=100)),
        sa.Column("warned_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "rule IN ('single_victim', 'by_time', 'pro_rata')", name=op.f("ck_victim_return_rule")
        ),
        sa.CheckConstraint(
            "state IN ('confirmed', 'completed')", name=op.f("ck_victim_return_state")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_victim_return_amount")),
        sa.CheckConstraint(
            "(state = 'completed') = (completed_at IS NOT NULL)",
            name=op.f("ck_victim_return_completed"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_victim_return_case_id_case")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_victim_return_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"], ["user.id"], name=op.f("fk_victim_return_confirmed_by_user")
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"], ["user.id"], name=op.f("fk_victim_return_completed_by_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victim_return")),
    )
    op.create_index(op.f("ix_victim_return_case_id"), "victim_return", ["case_id"])
    op.create_index("ix_victim_return_account_id", "victim_return", ["account_id"])
    op.create_index(op.f("ix_victim_return_batch"), "victim_return", ["batch"])

    op.create_table(
        "clock_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True)),
        sa.Column("offset_s", sa.Float(), server_default="0", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_clock_setting_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_setting")),
    )

    op.drop_constraint(op.f("ck_case_status"), "case", type_="check")
    op.create_check_constraint(op.f("ck_case_status"), "case", f"status IN ({NEW_STATUSES})")


def downgrade() -> None:
    op.execute(
        "UPDATE \"case\" SET status = 'stopped' WHERE status IN ('freezing', 'frozen', 'returning')"
    )
    op.drop_constraint(op.f("ck_case_status"), "case", type_="check")
    op.create_check_constraint(op.f("ck_case_status"), "case", f"status IN ({OLD_STATUSES})")
    op.drop_table("clock_setting")
    op.drop_table("victim_return")
    op.drop_constraint(
        op.f("fk_instruction_document_id_document"), "instruction", type_="foreignkey"
    )
    op.drop_column("instruction", "document_id")
    op.drop_column("instruction", "warned_at")
    op.drop_column("instruction", "released_at")
    op.drop_table("document")
