from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.audit.service import allow_audit_writes


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
