"""API token scopes: what a token may do, within what its user's role allows

Tokens issued before this revision get every scope their user's role may hold, so they keep
working exactly as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (app.auth.models.ROLE_SCOPES may grow later; this must not change).
ROLE_SCOPES = {
    "call_taker": ["cases:read", "cases:write"],
    "supervisor": ["cases:read", "cases:write", "holds:write"],
    "admin": ["cases:read", "holds:write", "admin"],
}
SCOPES = ["cases:read", "cases:write", "holds:write", "admin"]


def _array(values: list[str]) -> str:
    return "ARRAY[{}]::varchar[]".format(", ".join(f"'{v}'" for v in values))


def upgrade() -> None:
    op.add_column(
        "api_token",
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=32)), nullable=True),
    )
    by_role = " ".join(f"WHEN '{role}' THEN {_array(s)}" for role, s in ROLE_SCOPES.items())
    op.execute(
        f'UPDATE api_token SET scopes = CASE "user".role {by_role} END '
        'FROM "user" WHERE "user".id = api_token.user_id'
    )
    op.alter_column("api_token", "scopes", nullable=False)
    op.create_check_constraint(
        op.f("ck_api_token_scopes"), "api_token", f"scopes <@ {_array(SCOPES)}"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_api_token_scopes"), "api_token", type_="check")
    op.drop_column("api_token", "scopes")
