"""Instruction state changes. Every one is forward-only and leaves an audit event.

pending ──ack──> sent ──outcome──> done ──lapse──> expired
   │               │                 ^
   └──past SLA──> escalated ─────────┘ (an escalated instruction keeps retrying; a late ack
                                         or an outcome still moves it on)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.cases.models import Account, Case
from app.dispatch.models import Instruction, InstructionState, Outbox, Outcome
from app.institutions.models import Institution

S = InstructionState
ALLOWED: dict[str, set[str]] = {
    S.pending: {S.sent, S.escalated, S.done},
    S.escalated: {S.sent, S.done},
    S.sent: {S.done, S.escalated},
    S.done: {S.expired},
    S.expired: set(),
}
SENDABLE = (S.pending.value, S.escalated.value)


def move(
    db: Session, instruction: Instruction, to: InstructionState, *, data: dict[str, Any]
) -> bool:
    """Move to `to` if the state machine allows it; returns whether anything changed."""
    if to.value not in ALLOWED[instruction.state]:
        return False
    was = instruction.state
    instruction.state = to.value
    record_event(
        db,
        kind=f"instruction.{to.value}",
        institution_id=instruction.institution_id,
        case_id=instruction.case_id,
        instruction_id=instruction.id,
        data={"from": was, **data},
    )
    return True


@dataclass(frozen=True)
class SendOrder:
    """Everything a worker needs to send one instruction, read in one short transaction."""

    instruction_id: int
    idempotency_key: str
    kind: str
    case_no: str
    institution_code: str
    adapter: dict[str, Any]
    account_no: str | None
    holder_name: str | None
    amount: Decimal | None
    transaction_time: dt.datetime | None
    document_no: str | None
    attempt: int


def _locked(db: Session, instruction_id: int, *, skip_locked: bool = False) -> Instruction | None:
    query = select(Instruction).where(Instruction.id == instruction_id)
    return db.scalar(query.with_for_update(skip_locked=skip_locked))


def claim_attempt(
    db: Session, *, instruction_id: int, now: dt.datetime, lease: dt.timedelta
) -> SendOrder | None:
    """Start an attempt: None when the instruction needs no sending or another worker has it."""
    db.execute(
        update(Outbox)
        .where(Outbox.instruction_id == instruction_id, Outbox.confirmed_at.is_(None))
        .values(confirmed_at=now)
    )
    row = _locked(db, instruction_id, skip_locked=True)
    if row is None or row.state not in SENDABLE:
        return None
    if row.lease_until is not None and row.lease_until > now:
        return None
    row.attempts += 1
    row.first_attempt_at = row.first_attempt_at or now
    row.lease_until = now + lease
    case_no = db.scalar(select(Case.case_no).where(Case.id == row.case_id))
    institution = db.get_one(Institution, row.institution_id)
    account_no = (
        db.scalar(select(Account.account_no).where(Account.id == row.account_id))
        if row.account_id
        else None
    )
    return SendOrder(
        instruction_id=row.id,
        idempotency_key=row.idempotency_key,
        kind=row.kind,
        case_no=case_no or "",
        institution_code=institution.code,
        adapter=dict(institution.adapter),
        account_no=account_no,
        holder_name=row.holder_name,
        amount=row.amount_requested,
        transaction_time=row.transaction_time,
        document_no=row.document_no,
        attempt=row.attempts,
    )


def record_ack(db: Session, *, instruction_id: int, reference: str, now: dt.datetime) -> None:
    row = _locked(db, instruction_id)
    if row is None:
        return
    row.lease_until = None
    row.institution_ref = row.institution_ref or reference
    row.acked_at = row.acked_at or now
    # An outcome may have arrived before the ack was recorded; then only the times fill in.
    move(db, row, S.sent, data={"reference": reference, "attempt": row.attempts})


def record_failure(db: Session, *, instruction_id: int, error: str, now: dt.datetime) -> bool:
    """Note a failed attempt; escalate when past the institution's SLA. Returns escalated."""
    row = _locked(db, instruction_id)
    if row is None:
        return False
    row.lease_until = None
    row.last_error = error[:2000]
    if row.state != S.pending:
        return False
    sla_s = db.scalar(select(Institution.sla_s).where(Institution.id == row.institution_id))
    if sla_s is not None and now - row.created_at > dt.timedelta(seconds=sla_s):
        return escalate(db, row, now=now, reason=error)
    return False


def escalate(db: Session, row: Instruction, *, now: dt.datetime, reason: str) -> bool:
    if not move(db, row, S.escalated, data={"reason": reason[:500], "attempts": row.attempts}):
        return False
    row.escalated_at = now
    return True


def record_rejection(db: Session, *, instruction_id: int, error: str, now: dt.datetime) -> None:
    """The institution will never take this request: done, outcome rejected."""
    row = _locked(db, instruction_id)
    if row is None:
        return
    row.lease_until = None
    row.last_error = error[:2000]
    if move(db, row, S.done, data={"outcome": Outcome.rejected.value, "error": error[:500]}):
        row.outcome = Outcome.rejected.value
        row.completed_at = now


def escalate_overdue(db: Session, *, now: dt.datetime, limit: int = 500) -> int:
    """Escalate pending instructions past their institution's SLA (queued, stuck, dead peer)."""
    overdue = db.scalars(
        select(Instruction)
        .join(Institution, Institution.id == Instruction.institution_id)
        .where(Instruction.state == S.pending.value)
        .where(
            Instruction.created_at
            < now - Institution.sla_s * func.make_interval(0, 0, 0, 0, 0, 0, 1)
        )
        .order_by(Instruction.id)
        .limit(limit)
        .with_for_update(of=Instruction, skip_locked=True)
    )
    return sum(
        escalate(db, row, now=now, reason="no acknowledgement within the SLA") for row in overdue
    )
