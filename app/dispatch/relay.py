"""The outbox relay's query: what must be (re)published because nobody has picked it up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.dispatch.models import Instruction, Outbox
from app.dispatch.publish import Item, lane_of
from app.dispatch.transitions import SENDABLE
from app.institutions.models import Institution

# The fast path gets this long before the relay steps in.
GRACE = dt.timedelta(seconds=5)
# A published task not picked up by then is published again (a lost message, a dead broker).
REPUBLISH_AFTER = dt.timedelta(seconds=30)
# An instruction still to be sent with no attempt for this long (and no lease held) has lost
# its task: a worker died holding it, or its retry vanished. Longer than the longest backoff
# (30 s); STOPAY_RELAY_IDLE_AFTER_S.
IDLE_AFTER = dt.timedelta(seconds=45)
BATCH = 500
ZERO = Decimal(0)


def due_for_publishing(
    db: Session, *, now: dt.datetime, idle_after: dt.timedelta = IDLE_AFTER
) -> list[Item]:
    """The instructions to publish now (with their case's priority, lane and money at
    stake); marks them published.

    Rows are locked with SKIP LOCKED, so two relays never publish the same rows at once.
    """
    rows = db.execute(
        select(
            Outbox.id,
            Outbox.instruction_id,
            Case.priority,
            Institution.kind,
            Instruction.amount_requested,
        )
        .join(Instruction, Instruction.id == Outbox.instruction_id)
        .join(Case, Case.id == Instruction.case_id)
        .join(Institution, Institution.id == Instruction.institution_id)
        .where(Outbox.confirmed_at.is_(None), Outbox.created_at < now - GRACE)
        .where(or_(Outbox.published_at.is_(None), Outbox.published_at < now - REPUBLISH_AFTER))
        .order_by(Outbox.id)
        .limit(BATCH)
        .with_for_update(of=Outbox, skip_locked=True)
    ).all()
    if rows:
        db.execute(
            update(Outbox)
            .where(Outbox.id.in_([r.id for r in rows]))
            .values(published_at=now, publish_attempts=Outbox.publish_attempts + 1)
        )
    idle = db.execute(
        select(Instruction.id, Case.priority, Institution.kind, Instruction.amount_requested)
        .join(Case, Case.id == Instruction.case_id)
        .join(Institution, Institution.id == Instruction.institution_id)
        .where(Instruction.state.in_(SENDABLE), Instruction.updated_at < now - idle_after)
        .where(or_(Instruction.lease_until.is_(None), Instruction.lease_until < now))
        .order_by(Instruction.id)
        .limit(BATCH)
        .with_for_update(of=Instruction, skip_locked=True)
    ).all()
    if idle:
        # Touch them, so the next relay run does not publish them again straight away.
        db.execute(
            update(Instruction)
            .where(Instruction.id.in_([r.id for r in idle]))
            .values(updated_at=now)
        )
    seen = {r.instruction_id for r in rows}
    return [
        Item(r.instruction_id, r.priority, lane_of(r.kind), r.amount_requested or ZERO)
        for r in rows
    ] + [
        Item(r.id, r.priority, lane_of(r.kind), r.amount_requested or ZERO)
        for r in idle
        if r.id not in seen
    ]
