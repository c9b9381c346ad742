"""The repeats of an accepted callback, counted on its inbox row for the institution's view
(the first answer, "applied", "duplicate" or "ignored", is written with the row itself:
app/callbacks/applied.py and app/flows/outcome.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.callbacks.models import CallbackInbox
from app.institutions.models import Institution


def record_repeat(db: Session, *, code: str, webhook_id: str, now: dt.datetime) -> None:
    """A webhook-id delivered again (answered "duplicate"): counted on its inbox row."""
    db.execute(
        update(CallbackInbox)
        .where(
            CallbackInbox.institution_id
            == select(Institution.id).where(Institution.code == code).scalar_subquery(),
            CallbackInbox.webhook_id == webhook_id,
        )
        .values(repeats=CallbackInbox.repeats + 1, repeated_at=now)
    )
