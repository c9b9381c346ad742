"""The audit chain keyed: HMAC seals with a key id and the closed id range; the event table
takes inserts only from the audit service's path, never backdated or into a closed range

The unkeyed seals are dropped (run the old `stopay audit verify` before upgrading): the sealer
seals every event again under the configured key.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-04 22:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit service sets stopay.audit_writer with SET LOCAL (set_config(..., true)) in the
# transaction that writes events. An event is stamped clock_timestamp() (when it is inserted,
# not when its transaction began) unless given a time: anything far from the clock is
# backdating (or forward-dating), and a long honest transaction is never taken for it.
EVENT_INSERT_GUARD = """
CREATE FUNCTION event_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('stopay.audit_writer', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'the audit trail (event) is written only by the audit service';
    END IF;
    IF NEW.occurred_at < clock_timestamp() - interval '15 minutes'
            OR NEW.occurred_at > clock_timestamp() + interval '5 minutes' THEN
        RAISE EXCEPTION 'the audit trail (event) refuses an event dated %', NEW.occurred_at;
    END IF;
    IF NEW.id <= (SELECT s.closed_upto FROM event_seal s ORDER BY s.seq DESC LIMIT 1) THEN
        RAISE EXCEPTION 'the audit trail (event) refuses id %: its range is sealed', NEW.id;
    END IF;
    RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.execute("ALTER TABLE event_seal DISABLE TRIGGER event_seal_append_only")
    op.execute("DELETE FROM event_seal")
    op.execute("ALTER TABLE event_seal ENABLE TRIGGER event_seal_append_only")
    op.add_column("event_seal", sa.Column("key_id", sa.String(length=32), nullable=False))
    op.add_column("event_seal", sa.Column("closed_upto", sa.BigInteger(), nullable=False))
    op.execute("ALTER TABLE event ALTER COLUMN occurred_at SET DEFAULT clock_timestamp()")
    op.execute(EVENT_INSERT_GUARD)
    op.execute(
        "CREATE TRIGGER event_insert_guard BEFORE INSERT ON event "
        "FOR EACH ROW EXECUTE FUNCTION event_insert_guard()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER event_insert_guard ON event")
    op.execute("DROP FUNCTION event_insert_guard()")
    op.execute("ALTER TABLE event ALTER COLUMN occurred_at SET DEFAULT now()")
    op.execute("ALTER TABLE event_seal DISABLE TRIGGER event_seal_append_only")
    op.execute("DELETE FROM event_seal")
    op.execute("ALTER TABLE event_seal ENABLE TRIGGER event_seal_append_only")
    op.drop_column("event_seal", "closed_upto")
    op.drop_column("event_seal", "key_id")
