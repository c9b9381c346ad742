"""The trace domain's shared terms and reads: how far money is followed (`TraceRules`), a
transfer onward as an institution reported it (`Onward`), who holds an account now, and a
query asking an institution where the money in an account went.

Following the money a report names is `app.trace.follow`; stopping it at the next level is
`app.trace.next_level`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import Case
from app.db import among
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.dispatch.service import InstructionOrder, create_instructions

OPEN_STATES = (
    InstructionState.pending.value,
    InstructionState.sent.value,
    InstructionState.escalated.value,
)
HOLDING_OUTCOMES = (
    Outcome.stopped_full.value,
    Outcome.stopped_partial.value,
    Outcome.frozen_full.value,
    Outcome.frozen_partial.value,
)
HOLDING_KINDS = (InstructionKind.stop_payment.value, InstructionKind.freeze.value)


@dataclass(frozen=True)
class TraceRules:
    """How far to follow: the deepest level stopped, and the least amount worth a stop."""

    max_depth: int = 3
    min_amount: Decimal = Decimal("1000.00")


@dataclass(frozen=True)
class Onward:
    """Money that left an account, as an institution reported it."""

    institution: str
    account_no: str
    holder_name: str | None
    amount: Decimal
    occurred_at: dt.datetime
    reference: str | None


def holding(now: dt.datetime) -> ColumnElement[bool]:
    """Instructions that hold an account now: a stop or freeze on its way, or in force."""
    return and_(
        Instruction.kind.in_(HOLDING_KINDS),
        or_(
            Instruction.state.in_(OPEN_STATES),
            and_(
                Instruction.state == InstructionState.done.value,
                Instruction.outcome.in_(HOLDING_OUTCOMES),
                Instruction.released_at.is_(None),
                or_(Instruction.expires_at.is_(None), Instruction.expires_at > now),
            ),
        ),
    )


def held_elsewhere(
    db: Session, account_ids: Iterable[int], *, case_id: int | None, now: dt.datetime
) -> dict[int, tuple[Instruction, str]]:
    """For each account another case holds now: the holding instruction and its case number
    (the oldest hold, when several cases hold it)."""
    ids = list(set(account_ids))
    if not ids:
        return {}
    query = (
        select(Instruction, Case.case_no)
        .join(Case, Case.id == Instruction.case_id)
        .where(among(Instruction.account_id, ids), holding(now))
        .order_by(Instruction.id)
    )
    if case_id is not None:
        query = query.where(Instruction.case_id != case_id)
    found: dict[int, tuple[Instruction, str]] = {}
    for instruction, case_no in db.execute(query):
        assert instruction.account_id is not None
        found.setdefault(instruction.account_id, (instruction, case_no))
    return found


def request_query(
    db: Session,
    *,
    case: Case,
    account_id: int,
    institution_id: int,
    holder_name: str | None,
    parent_id: int | None,
    user: User | None,
) -> Instruction | None:
    """Ask the institution for the account's balance and outgoing transfers; None when a
    query about it in this case is still open."""
    open_query = db.scalar(
        select(Instruction.id).where(
            Instruction.case_id == case.id,
            Instruction.account_id == account_id,
            Instruction.kind == InstructionKind.query.value,
            Instruction.state.in_(OPEN_STATES),
        )
    )
    if open_query is not None:
        return None
    [query] = create_instructions(
        db,
        case_id=case.id,
        priority=case.priority,
        orders=[
            InstructionOrder(
                kind=InstructionKind.query,
                institution_id=institution_id,
                account_id=account_id,
                holder_name=holder_name,
                parent_id=parent_id,
            )
        ],
    )
    record_event(
        db,
        kind="trace.query_requested",
        user=user,
        case_id=case.id,
        instruction_id=query.id,
        data={"account_id": account_id, "parent": parent_id},
    )
    return query
