from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.audit.service import allow_audit_writes, record_event
from app.config import Settings
from tests.conftest import TEST_SECRET


def test_the_audit_trail_is_append_only(db: Session) -> None:
    allow_audit_writes(db)
    event = Event(kind="test.recorded", actor_kind="system", data={"n": 1})
    db.add(event)
    db.flush()
    assert event.id is not None

    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(update(Event).where(Event.id == event.id).values(kind="test.changed"))
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(delete(Event).where(Event.id == event.id))
    assert db.get(Event, event.id) is not None


def test_an_event_is_stamped_when_written_not_when_its_transaction_began(db: Session) -> None:
    """A long honest transaction keeps its events: the trigger's 15-minute backdating check
    sees when the row was written, not the transaction's start."""
    db.execute(text("SELECT pg_sleep(0.3)"))
    event = record_event(db, kind="test.late_in_a_long_transaction")
    db.flush()
    begun = db.scalar(select(func.now()))
    assert begun is not None
    db.refresh(event)
    assert event.occurred_at - begun >= dt.timedelta(seconds=0.3)


def test_ranges_cannot_close_so_fast_that_honest_commits_look_like_tampering() -> None:
    with pytest.raises(ValidationError, match="audit_close_after_s"):
        Settings(secret_key=TEST_SECRET, audit_close_after_s=0)


def test_writing_events_takes_no_extra_statement(db: Session) -> None:
    """The audit service's mark rides in the first event's INSERT: no extra round trip per
    transaction on the callback path, and the rows read back without another query."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE")):  # the test's own transaction
            statements.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        first = record_event(db, kind="test.one_statement", data={"n": 1})
        db.flush()
        assert (first.kind, first.actor_kind, first.data) == (
            "test.one_statement",
            "system",
            {"n": 1},
        )
        assert len(statements) == 1, statements
        more = [record_event(db, kind="test.one_statement", data={"n": n}) for n in (2, 3)]
        db.flush()
        assert first.id < more[0].id < more[1].id
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # The first event carries the mark; the later ones go in one statement.
    assert len(statements) == 2, statements
    assert all(s.startswith("INSERT INTO event") for s in statements), statements
