"""Instruction state changes. Every one is forward-only and leaves an audit event.

pending ──ack──> sent ──outcome──> done ──lapse──> expired
   │               │                 ^
   └──past SLA──> escalated ─────────┘ (an escalated instruction keeps retrying; a late ack
                                         or an outcome still moves it on)
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Select,
    String,
    Update,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from app import logs
from app.audit.models import ActorKind, Event
from app.audit.service import as_audit_writer, record_event
from app.cases.models import Account, Case
from app.dispatch.failures import FailureClass
from app.dispatch.models import Instruction, InstructionState, Outbox, Outcome
from app.institutions.models import Institution

log = logging.getLogger(__name__)

ALLOWED: dict[str, set[str]] = {
    InstructionState.pending: {
        InstructionState.sent,
        InstructionState.escalated,
        InstructionState.done,
    },
    InstructionState.escalated: {InstructionState.sent, InstructionState.done},
    InstructionState.sent: {InstructionState.done, InstructionState.escalated},
    InstructionState.done: {InstructionState.expired},
    InstructionState.expired: set(),
}
SENDABLE = (InstructionState.pending.value, InstructionState.escalated.value)


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


def _bound(name: str) -> Any:
    # Named p_*: a parameter named like a column would become a SET value of an UPDATE.
    return bindparam(name, type_=DateTime(timezone=True))


@cache
def _claim_statement() -> Select[Any]:
    """Built once: a worker claims hundreds of times a second, and building a statement with
    two CTEs costs more than running it."""
    ids = any_(bindparam("p_instruction_ids", type_=ARRAY(BigInteger)))
    now = _bound("p_now")
    confirm = (
        update(Outbox)
        .where(Outbox.instruction_id == ids, Outbox.confirmed_at.is_(None))
        .values(confirmed_at=now)
        .returning(Outbox.id)
        .cte("confirm")
    )
    claimed = (
        update(Instruction)
        .where(
            Instruction.id == ids,
            Instruction.state.in_(SENDABLE),
            or_(Instruction.lease_until.is_(None), Instruction.lease_until <= now),
        )
        .values(
            attempts=Instruction.attempts + 1,
            first_attempt_at=func.coalesce(Instruction.first_attempt_at, now),
            lease_until=_bound("p_lease_until"),
        )
        .returning(
            Instruction.id,
            Instruction.case_id,
            Instruction.institution_id,
            Instruction.account_id,
            Instruction.idempotency_key,
            Instruction.kind,
            Instruction.holder_name,
            Instruction.amount_requested,
            Instruction.transaction_time,
            Instruction.document_no,
            Instruction.attempts,
        )
        .cte("claimed")
    )
    return (
        select(claimed, Case.case_no, Institution.code, Institution.adapter, Account.account_no)
        .join(Case, Case.id == claimed.c.case_id)
        .join(Institution, Institution.id == claimed.c.institution_id)
        .outerjoin(Account, Account.id == claimed.c.account_id)
        .add_cte(confirm)
        .order_by(claimed.c.id)
    )


def claim_attempts(
    db: Session, *, instruction_ids: list[int], now: dt.datetime, lease: dt.timedelta
) -> list[SendOrder]:
    """Start an attempt at each of these instructions that needs sending and that no other
    worker holds; the others are left out.

    One statement for them all, so a worker pays one round trip per claim however many it
    claims: it confirms the outbox rows, takes the leases and reads what it sends. Two workers
    claiming at once queue on the row locks; the second then sees the first one's leases and
    gets nothing.
    """
    params = {"p_instruction_ids": instruction_ids, "p_now": now, "p_lease_until": now + lease}
    return [
        SendOrder(
            instruction_id=row.id,
            idempotency_key=row.idempotency_key,
            kind=row.kind,
            case_no=row.case_no,
            institution_code=row.code,
            adapter=dict(row.adapter),
            account_no=row.account_no,
            holder_name=row.holder_name,
            amount=row.amount_requested,
            transaction_time=row.transaction_time,
            document_no=row.document_no,
            attempt=row.attempts,
        )
        for row in db.connection().execute(_claim_statement(), params)
    ]


def claim_attempt(
    db: Session, *, instruction_id: int, now: dt.datetime, lease: dt.timedelta
) -> SendOrder | None:
    """Start an attempt at one instruction: None when it needs no sending or another worker
    has it."""
    orders = claim_attempts(db, instruction_ids=[instruction_id], now=now, lease=lease)
    return orders[0] if orders else None


def _ack_values() -> dict[str, Any]:
    return {
        "lease_until": None,
        "institution_ref": func.coalesce(
            Instruction.institution_ref, bindparam("p_reference", type_=String)
        ),
        "acked_at": func.coalesce(Instruction.acked_at, _bound("p_now")),
    }


@cache
def _ack_statements() -> tuple[ReturningInsert[tuple[int]], Update]:
    """(move pending or escalated to sent and write its event; only fill in the times)."""
    instruction_id = bindparam("p_instruction_id", type_=BigInteger)
    moved = (
        update(Instruction)
        .where(Instruction.id == instruction_id, Instruction.state.in_(SENDABLE))
        .values(state=InstructionState.sent.value, **_ack_values())
        # Escalation stamps escalated_at and nothing clears it: it tells what the state was.
        .returning(
            Instruction.id,
            Instruction.case_id,
            Instruction.institution_id,
            Instruction.attempts,
            Instruction.escalated_at,
        )
        .cte("moved")
    )
    was = case(
        (moved.c.escalated_at.is_(None), InstructionState.pending.value),
        else_=InstructionState.escalated.value,
    )
    data = func.jsonb_build_object(
        "from",
        was,
        "reference",
        bindparam("p_reference", type_=String),
        "attempt",
        moved.c.attempts,
    )
    move_and_record = insert(Event).from_select(
        ["kind", "actor_kind", "institution_id", "case_id", "instruction_id", "data"],
        select(
            literal(f"instruction.{InstructionState.sent.value}"),
            as_audit_writer(ActorKind.institution.value),
            moved.c.institution_id,
            moved.c.case_id,
            moved.c.id,
            data,
        ),
    )
    fill_in = update(Instruction).where(Instruction.id == instruction_id).values(**_ack_values())
    return move_and_record.returning(Event.id), fill_in


def record_ack(db: Session, *, instruction_id: int, reference: str, now: dt.datetime) -> None:
    """The institution took it: pending or escalated becomes sent, with its audit event, in
    one statement. An outcome may have arrived before the ack; then only the times fill in."""
    move_and_record, fill_in = _ack_statements()
    params = {"p_instruction_id": instruction_id, "p_reference": reference, "p_now": now}
    connection = db.connection()
    if connection.execute(move_and_record, params).first() is None:
        connection.execute(fill_in, params)


def record_failure(
    db: Session, *, instruction_id: int, error: str, failure: FailureClass, now: dt.datetime
) -> bool:
    """Note a failed attempt (its raw error and class); escalate when past the institution's
    SLA. Returns escalated."""
    row = _locked(db, instruction_id)
    if row is None:
        return False
    row.lease_until = None
    row.last_error = error[:2000]
    row.last_failure = failure.value
    if row.state != InstructionState.pending:
        return False
    sla_s = db.scalar(select(Institution.sla_s).where(Institution.id == row.institution_id))
    if sla_s is not None and now - row.created_at > dt.timedelta(seconds=sla_s):
        return escalate(db, row, now=now, reason=error)
    return False


def escalate(db: Session, row: Instruction, *, now: dt.datetime, reason: str) -> bool:
    if not move(
        db, row, InstructionState.escalated, data={"reason": reason[:500], "attempts": row.attempts}
    ):
        return False
    row.escalated_at = now
    log.warning(
        "instruction %d escalated after %d attempt(s): %s",
        row.id,
        row.attempts,
        reason[:500],
        extra={"instruction_id": row.id},
    )
    return True


def record_rejection(db: Session, *, instruction_id: int, error: str, now: dt.datetime) -> None:
    """The institution will never take this request: done, outcome rejected."""
    row = _locked(db, instruction_id)
    if row is None:
        return
    row.lease_until = None
    row.last_error = error[:2000]
    row.last_failure = FailureClass.refused.value
    if move(
        db,
        row,
        InstructionState.done,
        data={"outcome": Outcome.rejected.value, "error": error[:500]},
    ):
        row.outcome = Outcome.rejected.value
        row.completed_at = now


def escalate_overdue(db: Session, *, now: dt.datetime, limit: int = 500) -> int:
    """Escalate pending instructions past their institution's SLA (queued, stuck, dead peer)."""
    overdue = db.execute(
        select(Instruction, Case.case_no, Institution.code)
        .join(Institution, Institution.id == Instruction.institution_id)
        .join(Case, Case.id == Instruction.case_id)
        .where(Instruction.state == InstructionState.pending.value)
        .where(
            Instruction.created_at
            < now - Institution.sla_s * func.make_interval(0, 0, 0, 0, 0, 0, 1)
        )
        .order_by(Instruction.id)
        .limit(limit)
        .with_for_update(of=Instruction, skip_locked=True)
    )
    escalated = 0
    for row, case_no, code in overdue:
        with logs.bound(case_no=case_no, instruction_id=row.id, institution=code):
            # An attempt that failed said why; one never made (or never answered) says this.
            row.last_failure = row.last_failure or FailureClass.no_ack.value
            escalated += escalate(db, row, now=now, reason="no acknowledgement within the SLA")
    return escalated
