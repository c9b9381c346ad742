"""Claims and acknowledgements: one statement each, leases respected, every move audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.dispatch.failures import FailureClass
from app.dispatch.models import Instruction, Outbox
from app.dispatch.transitions import (
    claim_attempt,
    claim_attempts,
    escalate,
    escalate_overdue,
    record_ack,
    record_failure,
)
from tests.factories import instructions_of, make_case

LEASE = dt.timedelta(seconds=20)


def _stop(db: Session) -> Instruction:
    return next(i for i in instructions_of(db, make_case(db)) if i.kind == "stop_payment")


def _sent_events(db: Session, instruction: Instruction) -> list[Event]:
    query = select(Event).where(
        Event.instruction_id == instruction.id, Event.kind == "instruction.sent"
    )
    return list(db.scalars(query))


def test_a_claim_reads_what_to_send_confirms_the_outbox_and_holds_a_lease(db: Session) -> None:
    stop = _stop(db)
    now = dt.datetime.now(dt.UTC)
    order = claim_attempt(db, instruction_id=stop.id, now=now, lease=LEASE)
    assert order is not None
    db.refresh(stop)
    assert (order.idempotency_key, order.kind, order.amount, order.attempt) == (
        stop.idempotency_key,
        "stop_payment",
        stop.amount_requested,
        1,
    )
    assert order.account_no
    assert order.institution_code
    assert order.case_no.startswith("ZF-")
    assert stop.lease_until == now + LEASE
    assert stop.first_attempt_at == now
    outbox = db.scalar(select(Outbox).where(Outbox.instruction_id == stop.id))
    assert outbox is not None
    assert outbox.confirmed_at == now

    assert claim_attempt(db, instruction_id=stop.id, now=now + LEASE / 2, lease=LEASE) is None
    again = claim_attempt(db, instruction_id=stop.id, now=now + LEASE, lease=LEASE)
    assert again is not None
    assert again.attempt == 2
    assert outbox.confirmed_at == now


def test_one_claim_takes_every_instruction_still_to_send_and_no_other(db: Session) -> None:
    free, leased, done = (
        i for i in instructions_of(db, make_case(db, transfers=3)) if i.kind == "stop_payment"
    )
    now = dt.datetime.now(dt.UTC)
    assert claim_attempt(db, instruction_id=leased.id, now=now, lease=LEASE)
    done.state, done.outcome = "done", "stopped_full"
    db.flush()

    ids = [free.id, leased.id, done.id]
    orders = claim_attempts(db, instruction_ids=ids, now=now + LEASE / 2, lease=LEASE)

    assert [(o.instruction_id, o.attempt) for o in orders] == [(free.id, 1)]
    for stop in (free, leased, done):
        db.refresh(stop)
    assert (free.lease_until, leased.lease_until) == (now + LEASE / 2 + LEASE, now + LEASE)
    assert (leased.attempts, done.attempts) == (1, 0)
    # Every message's instruction is confirmed picked up: the relay need not publish any again.
    confirmed = db.scalars(select(Outbox.instruction_id).where(Outbox.confirmed_at.is_not(None)))
    assert set(ids) <= set(confirmed)


def test_an_ack_moves_pending_to_sent_once_and_says_from_where(db: Session) -> None:
    stop = _stop(db)
    now = dt.datetime.now(dt.UTC)
    claim_attempt(db, instruction_id=stop.id, now=now, lease=LEASE)
    record_ack(db, instruction_id=stop.id, reference="SIM-9", now=now)
    record_ack(db, instruction_id=stop.id, reference="SIM-10", now=now + LEASE)
    db.refresh(stop)
    assert (stop.state, stop.institution_ref, stop.acked_at, stop.lease_until) == (
        "sent",
        "SIM-9",
        now,
        None,
    )
    [event] = _sent_events(db, stop)
    assert event.data == {"from": "pending", "reference": "SIM-9", "attempt": 1}
    assert event.actor_kind == "institution"
    assert event.case_id == stop.case_id
    assert claim_attempt(db, instruction_id=stop.id, now=now + 2 * LEASE, lease=LEASE) is None


def test_an_escalated_instruction_is_still_sent_and_its_ack_says_it_was_escalated(
    db: Session,
) -> None:
    stop = _stop(db)
    now = dt.datetime.now(dt.UTC)
    assert escalate(db, stop, now=now, reason="no acknowledgement within the SLA")
    db.flush()
    assert claim_attempt(db, instruction_id=stop.id, now=now, lease=LEASE) is not None
    record_ack(db, instruction_id=stop.id, reference="SIM-3", now=now)
    [event] = _sent_events(db, stop)
    assert event.data["from"] == "escalated"


def test_an_escalation_says_why_by_class_a_failed_attempt_or_no_acknowledgement(
    db: Session,
) -> None:
    """Past the SLA: the one whose attempt failed keeps that class (and its raw error); the
    one that never got an acknowledgement any other way says so."""
    tried, waited = _stop(db), _stop(db)
    now = dt.datetime.now(dt.UTC)
    error = "CCB: no answer in time (TimeoutError)"
    record_failure(db, instruction_id=tried.id, error=error, failure=FailureClass.timeout, now=now)
    later = now + dt.timedelta(days=1)  # every pending instruction is overdue then
    assert escalate_overdue(db, now=later, limit=100_000) >= 2
    db.flush()
    for row in (tried, waited):
        db.refresh(row)
    assert (tried.state, tried.last_failure, tried.last_error) == ("escalated", "timeout", error)
    assert (waited.state, waited.last_failure, waited.last_error) == ("escalated", "no_ack", None)
