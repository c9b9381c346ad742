"""Disputed outcomes: a well-signed, well-formed outcome for an instruction already done that
contradicts the outcome on record. Kept (once per webhook-id), audited, never applied; the
institution is answered 409 `outcome-disputed` (docs/institution-protocol.md)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.callbacks.body import storable
from app.callbacks.models import DisputedOutcome
from app.callbacks.refusals import stored_id
from app.dispatch.models import Instruction, Outcome
from app.dispatch.wire import OutcomeReport
from app.institutions.models import Institution

# The most a listing answers at once.
LISTED_MAX = 200


def _money(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal("0")


def agrees(instruction: Instruction, report: OutcomeReport) -> bool:
    """Whether `report` says what the done instruction has on record: the same outcome,
    the same amount (an empty amount is 0.00) and, for a mismatch, the same field."""
    if instruction.outcome != report.outcome.value:
        return False
    if _money(instruction.amount_stopped) != _money(report.amount_stopped):
        return False
    return report.outcome != Outcome.mismatch or (
        instruction.mismatch_field == report.mismatch_field
    )


def keep_dispute(
    db: Session,
    *,
    instruction: Instruction,
    report: OutcomeReport,
    webhook_id: str,
    payload: Any,
) -> int | None:
    """Keep the dispute and audit it, once per webhook-id: the new row's id, or None for a
    repeat. Nothing of the outcome is applied."""
    webhook_id = stored_id(webhook_id)
    stored = db.scalar(
        pg_insert(DisputedOutcome)
        .values(
            institution_id=instruction.institution_id,
            instruction_id=instruction.id,
            webhook_id=webhook_id,
            recorded_outcome=instruction.outcome or "",
            recorded_amount_stopped=instruction.amount_stopped,
            reported_outcome=report.outcome.value,
            reported_amount_stopped=report.amount_stopped,
            payload=storable(payload, masked=True),
        )
        .on_conflict_do_nothing(
            index_elements=[DisputedOutcome.institution_id, DisputedOutcome.webhook_id]
        )
        .returning(DisputedOutcome.id)
    )
    if stored is not None:
        record_event(
            db,
            kind="callback.disputed",
            institution_id=instruction.institution_id,
            case_id=instruction.case_id,
            instruction_id=instruction.id,
            data={
                "disputed_outcome": stored,
                "webhook_id": webhook_id,
                "recorded": instruction.outcome,
                "reported": report.outcome.value,
            },
        )
    return stored


class DisputedOutcomeRead(BaseModel):
    """A disputed outcome as supervisors and its institution read it."""

    id: int
    institution_code: str
    instruction_id: int
    webhook_id: str
    recorded_outcome: str = Field(description="The outcome on record, which stands")
    recorded_amount_stopped: Decimal | None
    reported_outcome: str = Field(description="The outcome the later callback reported")
    reported_amount_stopped: Decimal | None
    received_at: dt.datetime


def list_disputes(
    db: Session,
    *,
    institution_id: int | None = None,
    case_id: int | None = None,
    limit: int = LISTED_MAX,
) -> list[DisputedOutcomeRead]:
    """Disputed outcomes, newest first: of one institution (its own view, the registry), of
    one case (its page), or all."""
    query = (
        select(DisputedOutcome, Institution.code)
        .join(Institution, Institution.id == DisputedOutcome.institution_id)
        .order_by(DisputedOutcome.id.desc())
        .limit(limit)
    )
    if institution_id is not None:
        query = query.where(DisputedOutcome.institution_id == institution_id)
    if case_id is not None:
        query = query.join(Instruction, Instruction.id == DisputedOutcome.instruction_id).where(
            Instruction.case_id == case_id
        )
    return [
        DisputedOutcomeRead(
            id=row.id,
            institution_code=code,
            instruction_id=row.instruction_id,
            webhook_id=row.webhook_id,
            recorded_outcome=row.recorded_outcome,
            recorded_amount_stopped=row.recorded_amount_stopped,
            reported_outcome=row.reported_outcome,
            reported_amount_stopped=row.reported_amount_stopped,
            received_at=row.received_at,
        )
        for row, code in db.execute(query)
    ]
