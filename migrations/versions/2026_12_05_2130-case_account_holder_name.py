"""The holder name an account has in each case: the name that case's report or bank gave

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:30:00+00:00

Until now the name lived only on the account, shared by every case it appears in, so one
case's page could show the name another case reported. Rows already on file take the
account's name where the case holds it as a suspect's; a victim's own account takes none
(its holder is the case's victim).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("case_account", sa.Column("holder_name", sa.String(200), nullable=True))
    op.execute(
        "UPDATE case_account SET holder_name = account.holder_name FROM account "
        "WHERE account.id = case_account.account_id AND case_account.role = 'suspect'"
    )


def downgrade() -> None:
    op.drop_column("case_account", "holder_name")
