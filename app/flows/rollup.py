"""The case's status, rolled up from its instructions and returns."""

from __future__ import annotations

import datetime as dt
from functools import cache

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import identity_key
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

OPEN = (InstructionState.pending, InstructionState.sent, InstructionState.escalated)


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
    is_open = Instruction.state.in_([s.value for s in OPEN])
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


def _sql_in(values: list[str]) -> list[ColumnElement[str]]:
    """Values as literals in the statement, so that PostgreSQL proves a partial index's
    predicate from them (bound parameters would hide them from a generic plan)."""
    return [literal_column(f"'{v}'") for v in values]


@cache
def _still_stopping() -> Executable:
    """Whether the case is `stopping` for an open stop-payment, in one row (p_case_id, p_now).

    Exactly the full count's `stopping` by its `still_open`: a stop-payment open and not
    replaced, and neither a freeze under way or in force nor a return (which come first).
    A few index probes (ix_instruction_case_open, ix_instruction_case_freeze, the returns'
    case_id) instead of counting every instruction of the case: most callbacks of a big case
    leave it `stopping`, and counting on each made the case's roll-ups O(n²). Where the probe
    is stricter than the count (a replaced freeze counts here, a replacement is looked for
    through the account in any case), it answers False and the full count decides.
    """
    case_id = bindparam("p_case_id", type_=BigInteger)
    now = bindparam("p_now", type_=DateTime(timezone=True))
    open_states = _sql_in([s.value for s in OPEN])
    stop, freeze = _sql_in([InstructionKind.stop_payment.value, InstructionKind.freeze.value])
    child = aliased(Instruction)
    replaced = (
        select(child.id)
        .where(
            child.account_id == Instruction.account_id,
            child.parent_id == Instruction.id,
            child.kind == stop,
        )
        .exists()
    )
    open_stop = exists().where(
        Instruction.case_id == case_id,
        Instruction.state.in_(open_states),
        Instruction.kind == stop,
        ~replaced,
    )
    freeze_live = exists().where(
        Instruction.case_id == case_id,
        Instruction.kind == freeze,
        or_(Instruction.state.in_(open_states), in_force(now)),
    )
    returned = exists().where(VictimReturn.case_id == case_id)
    return select(and_(open_stop, ~freeze_live, ~returned))


def rollup_status(
    db: Session, *, case_id: int, now: dt.datetime | None = None, locked_status: str | None = None
) -> None:
    """The case's status from its instructions and returns.

    stopping → stopped / partly stopped / nothing stopped, from the stop-payments' outcomes;
    then freezing (a freeze under way) → frozen (a freeze in force); returning (returns
    confirmed) → closed (every return paid, and every account the case froze returned from).

    `locked_status`: the caller has locked the case's row already (FOR NO KEY UPDATE, as
    below) and read this status then; the roll-up then costs one statement (a `stopping`
    case's probe, or the count), one more when the probe finds it stopping no longer, and two
    more when the status changes.
    """
    now = now or utcnow()
    if locked_status is None:
        # FOR NO KEY UPDATE: it queues concurrent roll-ups of one case, but does not conflict
        # with the KEY SHARE locks that inserting this transaction's events already took on
        # the case row (FOR UPDATE would, and two callbacks of one case would deadlock
        # upgrading).
        case = db.get_one(Case, case_id, with_for_update={"key_share": True})
        locked_status = case.status
    if locked_status == CaseStatus.closed:
        return
    status = _status(db, case_id=case_id, now=now, stopping=locked_status == CaseStatus.stopping)
    if locked_status != status:
        record_event(
            db,
            kind="case.status_changed",
            case_id=case_id,
            data={"from": locked_status, "to": status.value},
        )
        _set_status(db, case_id=case_id, status=status)


def _set_status(db: Session, *, case_id: int, status: CaseStatus) -> None:
    """The case's status, through the session's copy of the row when it holds one."""
    case = db.identity_map.get(identity_key(Case, case_id))
    if isinstance(case, Case):
        case.status = status.value
    else:
        db.execute(update(Case).where(Case.id == case_id).values(status=status.value))


def _status(db: Session, *, case_id: int, now: dt.datetime, stopping: bool) -> CaseStatus:
    """`stopping`: the case was, so it likely still is; asked first, cheaply."""
    db.flush()  # what this transaction added (the next level's stop-payments) counts too
    params = {"p_case_id": case_id, "p_now": now}
    if stopping and db.connection().execute(_still_stopping(), params).scalar_one():
        return CaseStatus.stopping
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
    return status


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
