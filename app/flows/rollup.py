"""The case's status, rolled up from its instructions and returns."""

from __future__ import annotations

import datetime as dt
from functools import cache

from sqlalchemy import (
    BigInteger,
    DateTime,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import Executable

from app.audit.service import record_event
from app.cases.models import (
    Case,
    CaseStatus,
)
from app.db import utcnow
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.legal.holds import in_force
from app.legal.models import ReturnState, VictimReturn


@cache
def _rollup_counts() -> Executable:
    """The counts a case's status follows from, in one row (p_case_id, p_now).

    Built once: every callback rolls its case up, and building this statement cost the API
    more than running it. Counted by the database: reading every stop-payment back for each
    callback would cost O(n²) for an n-account case.
    """
    case_id = bindparam("p_case_id", type_=BigInteger)
    now = bindparam("p_now", type_=DateTime(timezone=True))
    # A stop-payment corrected and resent (or renewed) counts through its replacement only:
    # a stop-payment whose parent is about the same account. (The next level's stop-payments
    # and queries have parents too, about other accounts or of another kind.)
    parent = aliased(Instruction)
    replaced = (
        select(Instruction.parent_id)
        .join(parent, parent.id == Instruction.parent_id)
        .where(
            Instruction.case_id == case_id,
            Instruction.kind == InstructionKind.stop_payment.value,
            Instruction.account_id == parent.account_id,
        )
    )
    is_stop = Instruction.kind == InstructionKind.stop_payment.value
    is_freeze = Instruction.kind == InstructionKind.freeze.value
    is_open = Instruction.state.in_(
        [
            s.value
            for s in (InstructionState.pending, InstructionState.sent, InstructionState.escalated)
        ]
    )
    returns = select(func.count()).where(VictimReturn.case_id == case_id)
    return select(
        func.count().filter(is_stop),
        func.count().filter(is_stop, is_open),
        func.count().filter(is_stop, Instruction.outcome == Outcome.stopped_full.value),
        func.count().filter(is_stop, Instruction.amount_stopped > 0),
        func.count().filter(is_freeze, is_open),
        func.count().filter(is_freeze, in_force(now)),
        returns.scalar_subquery(),
        returns.where(VictimReturn.state == ReturnState.confirmed.value).scalar_subquery(),
    ).where(
        Instruction.case_id == case_id,
        Instruction.kind.in_([InstructionKind.stop_payment.value, InstructionKind.freeze.value]),
        Instruction.id.not_in(replaced),
    )


def rollup_status(db: Session, *, case_id: int, now: dt.datetime | None = None) -> None:
    """The case's status from its instructions and returns.

    stopping → stopped / partly stopped / nothing stopped, from the stop-payments' outcomes;
    then freezing (a freeze under way) → frozen (a freeze in force); returning (returns
    confirmed) → closed (every return paid, and every account the case froze returned from).
    """
    now = now or utcnow()
    # FOR NO KEY UPDATE: it queues concurrent roll-ups of one case, but does not conflict
    # with the KEY SHARE locks that inserting this transaction's events already took on the
    # case row (FOR UPDATE would, and two callbacks of one case would deadlock upgrading).
    case = db.get_one(Case, case_id, with_for_update={"key_share": True})
    if case.status == CaseStatus.closed:
        return
    params = {"p_case_id": case_id, "p_now": now}
    counts = db.connection().execute(_rollup_counts(), params).one()
    total, still_open, full, some, freezing, frozen, returned, unpaid = counts
    if returned:
        paid_all = not unpaid and not _frozen_not_returned(db, case_id=case_id, now=now)
        status = CaseStatus.closed if paid_all else CaseStatus.returning
    elif freezing:
        status = CaseStatus.freezing
    elif frozen:
        status = CaseStatus.frozen
    elif not total or still_open:
        status = CaseStatus.stopping
    elif full == total:
        status = CaseStatus.stopped
    elif some:
        status = CaseStatus.partly_stopped
    else:
        status = CaseStatus.nothing_stopped
    if case.status != status:
        record_event(
            db,
            kind="case.status_changed",
            case_id=case.id,
            data={"from": case.status, "to": status.value},
        )
        case.status = status.value


def _frozen_not_returned(db: Session, *, case_id: int, now: dt.datetime) -> bool:
    """Whether the case has a freeze in force on an account nothing was returned from yet."""
    returned_from = select(VictimReturn.account_id).where(VictimReturn.case_id == case_id)
    return bool(
        db.scalar(
            select(
                select(Instruction.id)
                .where(
                    Instruction.case_id == case_id,
                    Instruction.kind == InstructionKind.freeze.value,
                    in_force(now),
                    Instruction.account_id.not_in(returned_from),
                )
                .exists()
            )
        )
    )
