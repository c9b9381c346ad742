"""What a case holds: the holds in force, each account's latest, the term of a renewal, the
end of a released hold, and the sums held.

A hold is a stop-payment or freeze the institution confirmed. It is in force from its
effective time until it expires (48 h for a stop-payment, 6 months for a freeze, by default)
or a confirmed release ends it. A renewal starts where the hold it renews ends. What an
account holds for a case is its latest hold (a renewal, or the freeze that converted a stop).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, aliased

from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome

OPEN = (
    InstructionState.pending.value,
    InstructionState.sent.value,
    InstructionState.escalated.value,
)
HOLD_KINDS = (InstructionKind.stop_payment.value, InstructionKind.freeze.value)
HOLDING = (
    Outcome.stopped_full.value,
    Outcome.stopped_partial.value,
    Outcome.frozen_full.value,
    Outcome.frozen_partial.value,
)


def in_force(now: dt.datetime | ColumnElement[dt.datetime]) -> Any:
    """Holds the institution confirmed that have neither run out nor been released."""
    return and_(
        Instruction.kind.in_(HOLD_KINDS),
        Instruction.state == InstructionState.done.value,
        Instruction.outcome.in_(HOLDING),
        Instruction.released_at.is_(None),
        Instruction.expires_at > now,
    )


def current_holds(
    db: Session, *, case_id: int, now: dt.datetime, account_id: int | None = None
) -> dict[int, Instruction]:
    """Each account's latest hold in force in the case."""
    query = (
        select(Instruction)
        .where(Instruction.case_id == case_id, in_force(now))
        .order_by(Instruction.account_id, Instruction.id.desc())
        .ext(distinct_on(Instruction.account_id))
    )
    if account_id is not None:
        query = query.where(Instruction.account_id == account_id)
    return {i.account_id: i for i in db.scalars(query) if i.account_id is not None}


def followed(*, holding_only: bool) -> Any:
    """A later stop-payment or freeze of the same account in the same case, under way (unless
    `holding_only`) or holding: a renewal, or a freeze (converting the stop, or made outright
    after a lapse), takes the hold over."""
    later = aliased(Instruction)
    holds = and_(
        later.state == InstructionState.done.value,
        later.outcome.in_(HOLDING),
        later.released_at.is_(None),
    )
    return exists().where(
        later.case_id == Instruction.case_id,
        later.account_id == Instruction.account_id,
        later.id > Instruction.id,
        later.kind.in_(HOLD_KINDS),
        holds if holding_only else or_(later.state.in_(OPEN), holds),
    )


def expiry(hold: Instruction) -> str | None:
    """When the hold runs out, as its audit events record it."""
    return hold.expires_at.isoformat() if hold.expires_at is not None else None


def end_holds(db: Session, release: Instruction, *, now: dt.datetime) -> None:
    """A confirmed release: the case's holds on the account end now."""
    db.execute(
        update(Instruction)
        .where(
            Instruction.case_id == release.case_id,
            Instruction.account_id == release.account_id,
            Instruction.kind.in_(HOLD_KINDS),
            Instruction.state == InstructionState.done.value,
            Instruction.released_at.is_(None),
        )
        .values(released_at=now)
    )


def term_start(db: Session, instruction: Instruction, effective_at: dt.datetime) -> dt.datetime:
    """A renewal's term starts where the hold it renews ends (if that is still ahead)."""
    if instruction.parent_id is None:
        return effective_at
    parent = db.get(Instruction, instruction.parent_id)
    if (
        parent is None
        or parent.kind != instruction.kind
        or parent.account_id != instruction.account_id
        or parent.expires_at is None
        or parent.released_at is not None
    ):
        return effective_at
    return max(effective_at, parent.expires_at)


def held_sums(case_ids: Select[int], *, now: dt.datetime) -> Select[Any]:
    """Per case: (case_id, stopped, frozen, lapsed), account by account through each
    account's latest confirmed hold. Stopped and frozen are held now; lapsed was held, but
    the term ran out with nothing after it. One aggregate for one case or a thousand."""
    hold = (
        select(
            Instruction.case_id,
            Instruction.kind,
            Instruction.state,
            Instruction.amount_stopped,
            Instruction.expires_at,
            Instruction.released_at,
        )
        .where(
            Instruction.case_id.in_(case_ids),
            Instruction.kind.in_(HOLD_KINDS),
            Instruction.outcome.in_(HOLDING),
            Instruction.state.in_([InstructionState.done.value, InstructionState.expired.value]),
        )
        .order_by(Instruction.case_id, Instruction.account_id, Instruction.id.desc())
        .ext(distinct_on(Instruction.case_id, Instruction.account_id))
        .subquery("latest_hold")
    )
    kept = hold.c.released_at.is_(None)
    live = and_(kept, hold.c.state == InstructionState.done.value, hold.c.expires_at > now)

    def total(*where: Any) -> Any:
        return func.coalesce(func.sum(hold.c.amount_stopped).filter(*where), Decimal("0.00"))

    return select(
        hold.c.case_id,
        total(live, hold.c.kind == InstructionKind.stop_payment.value).label("stopped"),
        total(live, hold.c.kind == InstructionKind.freeze.value).label("frozen"),
        total(kept, ~live).label("lapsed"),
    ).group_by(hold.c.case_id)


@dataclass(frozen=True)
class HoldTotals:
    stopped: Decimal  # held by stop-payments in force now
    frozen: Decimal  # held by freezes in force now
    lapsed: Decimal  # was held, but the term ran out with nothing after it


def hold_totals(db: Session, *, case_id: int, now: dt.datetime) -> HoldTotals:
    """Money the case holds (see `held_sums`)."""
    row = db.execute(held_sums(select(literal(case_id)), now=now)).first()
    if row is None:
        return HoldTotals(Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    return HoldTotals(row.stopped, row.frozen, row.lapsed)
