"""The `pii:reveal` scope: personal data in clear needs a scope of its own

Tokens issued before this revision do not get it: `cases:read` no longer reveals, and a
token that must reveal is issued anew with the scope named.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-04 22:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ["cases:read", "cases:write", "holds:write", "admin"]
AFTER = [*BEFORE, "pii:reveal"]


def _array(values: list[str]) -> str:
    return "ARRAY[{}]::varchar[]".format(", ".join(f"'{v}'" for v in values))


def _allow(scopes: list[str]) -> None:
    op.drop_constraint(op.f("ck_api_token_scopes"), "api_token", type_="check")
    op.create_check_constraint(
        op.f("ck_api_token_scopes"), "api_token", f"scopes <@ {_array(scopes)}"
    )


def upgrade() -> None:
    _allow(AFTER)


def downgrade() -> None:
    op.execute("UPDATE api_token SET scopes = array_remove(scopes, 'pii:reveal')")
    _allow(BEFORE)
