"""The cases a call-taker's unit took in the last days ("my cases"), newest first: the same
list as GET /api/v1/cases, with what each case's own stop-payments and freezes hold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.models import Case
from app.cases.reads import CaseFilters, list_cases
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.privacy import mask_name

RECENT = dt.timedelta(days=7)
LIMIT = 200
_STOPPED = (Outcome.stopped_full.value, Outcome.stopped_partial.value)
_FROZEN = (Outcome.frozen_full.value, Outcome.frozen_partial.value)
_HOLDS = (InstructionKind.stop_payment.value, InstructionKind.freeze.value)


@dataclass(frozen=True)
class RecentCase:
    case_no: str
    received_at: dt.datetime
    status: str
    priority: str
    victim_name: str  # masked (app/privacy.py)
    call_taker: str  # username
    mine: bool
    total_amount: Decimal
    amount_stopped: Decimal
    amount_frozen: Decimal


@dataclass(frozen=True)
class RecentCases:
    cases: list[RecentCase]
    total: int  # more than shown when past LIMIT


def recent_cases(db: Session, *, user: User, now: dt.datetime) -> RecentCases:
    """The unit's cases received in the last RECENT, newest first (at most LIMIT)."""
    page = list_cases(
        db, user=user, filters=CaseFilters(received_from=now - RECENT), page=1, page_size=LIMIT
    )
    held = _held(db, [c.case_no for c in page.items])
    zero = (Decimal(0), Decimal(0))
    return RecentCases(
        cases=[
            RecentCase(
                case_no=c.case_no,
                received_at=c.received_at,
                status=c.status.value,
                priority=c.priority.value,
                victim_name=mask_name(c.victim_name),
                call_taker=c.call_taker,
                mine=c.call_taker == user.username,
                total_amount=c.total_amount,
                amount_stopped=held.get(c.case_no, zero)[0],
                amount_frozen=held.get(c.case_no, zero)[1],
            )
            for c in page.items
        ],
        total=page.total,
    )


def _held(db: Session, case_nos: list[str]) -> dict[str, tuple[Decimal, Decimal]]:
    """What each case's stop-payments and freezes hold now, by case number: on each account
    the case's latest one decides, as it decides the account's fate (app/casefile/fates.py,
    which reads one case at a time; this sums many in one statement)."""
    if not case_nos:
        return {}
    latest = (
        select(
            Case.case_no,
            Instruction.state,
            Instruction.outcome,
            Instruction.released_at,
            Instruction.amount_stopped,
        )
        .join(Case, Case.id == Instruction.case_id)
        .where(
            Case.case_no.in_(case_nos),
            Instruction.account_id.is_not(None),
            Instruction.kind.in_(_HOLDS),
        )
        .ext(distinct_on(Instruction.case_id, Instruction.account_id))
        .order_by(Instruction.case_id, Instruction.account_id, Instruction.id.desc())
        .subquery()
    )
    holding = (latest.c.state == InstructionState.done.value) & latest.c.released_at.is_(None)
    amount = func.coalesce(latest.c.amount_stopped, 0)
    rows = db.execute(
        select(
            latest.c.case_no,
            func.coalesce(func.sum(amount).filter(holding, latest.c.outcome.in_(_STOPPED)), 0),
            func.coalesce(func.sum(amount).filter(holding, latest.c.outcome.in_(_FROZEN)), 0),
        ).group_by(latest.c.case_no)
    )
    return {case_no: (Decimal(stopped), Decimal(frozen)) for case_no, stopped, frozen in rows}
