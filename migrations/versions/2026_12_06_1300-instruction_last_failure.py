"""The class of an instruction's last error, stored as the worker met it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 13:00:00+00:00

The dashboard said an institution's failure in words by reading the class back out of the
worker's English `last_error`. The adapter that meets a failure now names its class, and
the worker stores it here (app/dispatch/failures.py). Rows written before this revision get
the class their `last_error` spelled, as that reading did, once.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# How the worker spelled each class in `last_error` until now, in the order they were tried.
SPELLED = (
    ("no answer in time|timeout|timed out", "timeout"),
    ("cannot connect", "unreachable"),
    ("answered 5[0-9][0-9]", "server_error"),
    ("rate limited|\\m429\\M", "rate_limited"),
    ("refused with", "refused"),
    ("unreadable acknowledgement", "bad_answer"),
    ("circuit open", "circuit_open"),
    ("concurrency cap", "busy"),
    ("no acknowledgement", "no_ack"),
)


def upgrade() -> None:
    op.add_column("instruction", sa.Column("last_failure", sa.String(16), nullable=True))
    whens = " ".join(f"WHEN last_error ~* '{pattern}' THEN '{cls}'" for pattern, cls in SPELLED)
    op.execute(
        f"UPDATE instruction SET last_failure = CASE {whens} ELSE 'other' END "
        "WHERE last_error IS NOT NULL AND last_error <> ''"
    )


def downgrade() -> None:
    op.drop_column("instruction", "last_failure")
