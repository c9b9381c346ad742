"""Institution users, their scopes, a stated overlap for the previous callback secret, and
the answer each accepted callback was given

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:00:00+00:00

A user of role `institution` belongs to one institution (`user.institution_id`) and nobody
else belongs to any. A rotation made before this revision had no deadline for the old
secret: it is given one day from now, the default `STOPAY_CALLBACK_SECRET_OVERLAP_S`.
Callbacks accepted before this revision have no stored answer (`answer` is null).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES_BEFORE = ["call_taker", "supervisor", "admin"]
ROLES_AFTER = [*ROLES_BEFORE, "institution"]
SCOPES_BEFORE = ["cases:read", "cases:write", "holds:write", "admin", "pii:reveal"]
SCOPES_AFTER = [*SCOPES_BEFORE, "institution:read", "institution:rotate"]


def _listed(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _roles(roles: list[str]) -> None:
    op.drop_constraint(op.f("ck_user_role"), "user", type_="check")
    op.create_check_constraint(op.f("ck_user_role"), "user", f"role IN ({_listed(roles)})")


def _scopes(scopes: list[str]) -> None:
    op.drop_constraint(op.f("ck_api_token_scopes"), "api_token", type_="check")
    op.create_check_constraint(
        op.f("ck_api_token_scopes"),
        "api_token",
        f"scopes <@ ARRAY[{_listed(scopes)}]::varchar[]",
    )


def upgrade() -> None:
    _roles(ROLES_AFTER)
    _scopes(SCOPES_AFTER)
    op.add_column("user", sa.Column("institution_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_user_institution_id_institution"),
        "user",
        "institution",
        ["institution_id"],
        ["id"],
    )
    op.create_index(op.f("ix_user_institution_id"), "user", ["institution_id"])
    op.create_check_constraint(
        op.f("ck_user_institution_user"),
        "user",
        "(role = 'institution') = (institution_id IS NOT NULL)",
    )
    op.add_column(
        "institution",
        sa.Column("callback_secret_previous_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "UPDATE institution SET callback_secret_previous_until = now() + interval '1 day' "
        "WHERE callback_secret_previous IS NOT NULL"
    )
    op.add_column("callback_inbox", sa.Column("answer", sa.String(16), nullable=True))
    op.add_column(
        "callback_inbox",
        sa.Column("repeats", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "callback_inbox", sa.Column("repeated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        op.f("ix_callback_inbox_institution_id_id"), "callback_inbox", ["institution_id", "id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_inbox_institution_id_id"), "callback_inbox")
    op.drop_column("callback_inbox", "repeated_at")
    op.drop_column("callback_inbox", "repeats")
    op.drop_column("callback_inbox", "answer")
    op.drop_column("institution", "callback_secret_previous_until")
    op.execute("DELETE FROM \"user\" WHERE role = 'institution'")
    op.drop_constraint(op.f("ck_user_institution_user"), "user", type_="check")
    op.drop_index(op.f("ix_user_institution_id"), "user")
    op.drop_constraint(op.f("fk_user_institution_id_institution"), "user", type_="foreignkey")
    op.drop_column("user", "institution_id")
    op.execute(
        "UPDATE api_token SET scopes = array_remove(array_remove(scopes, 'institution:read'), "
        "'institution:rotate')"
    )
    _scopes(SCOPES_BEFORE)
    _roles(ROLES_BEFORE)
