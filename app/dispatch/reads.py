"""Instructions as the API shows them, and the hold another case keeps on an account."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from app.cases.models import (
    Account,
)
from app.cases.reads import victim_anywhere
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.dispatch.schemas import HoldRead, InstructionRead
from app.institutions.models import Institution
from app.privacy import shown_account_no


def hold_read(instruction: Instruction, case_no: str) -> HoldRead:
    return HoldRead(
        case_no=case_no,
        instruction_id=instruction.id,
        kind=InstructionKind(instruction.kind),
        state=InstructionState(instruction.state),
        outcome=Outcome(instruction.outcome) if instruction.outcome else None,
        amount_requested=instruction.amount_requested,
        amount_stopped=instruction.amount_stopped,
        expires_at=instruction.expires_at,
    )


def _ms(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


def instruction_read(
    instruction: Instruction, *, institution_code: str, account_no: str | None
) -> InstructionRead:
    i = instruction
    return InstructionRead(
        id=i.id,
        kind=i.kind,
        state=i.state,
        outcome=i.outcome,
        institution=institution_code,
        account_id=i.account_id,
        account_no=account_no,
        amount_requested=i.amount_requested,
        amount_stopped=i.amount_stopped,
        balance=i.balance,
        mismatch_field=i.mismatch_field,
        institution_ref=i.institution_ref,
        attempts=i.attempts,
        last_error=i.last_error,
        created_at=i.created_at,
        first_attempt_at=i.first_attempt_at,
        acked_at=i.acked_at,
        completed_at=i.completed_at,
        effective_at=i.effective_at,
        expires_at=i.expires_at,
        escalated_at=i.escalated_at,
        released_at=i.released_at,
        parent_id=i.parent_id,
        document_no=i.document_no,
        document_id=i.document_id,
        dispatch_delay_ms=_ms(i.created_at, i.first_attempt_at),
        ack_ms=_ms(i.created_at, i.acked_at),
        completion_ms=_ms(i.created_at, i.completed_at),
    )


def read_back(db: Session, instruction: Instruction) -> InstructionRead:
    """An instruction just made in this request, as the API shows it."""
    db.flush()
    db.refresh(instruction)
    code, number, victim = db.execute(
        select(Institution.code, Account.account_no, victim_anywhere(Account.id))
        .select_from(Institution)
        .join(Account, Account.id == instruction.account_id, isouter=True)
        .where(Institution.id == instruction.institution_id)
    ).one()
    if number is not None:
        number = shown_account_no(number, victim=victim)
    return instruction_read(instruction, institution_code=code, account_no=number)
