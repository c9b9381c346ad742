"""The watch: beat's pass over the legal clock.

It warns of stop-payments about to lapse without a freeze and of freezes to renew, marks
the holds whose term is over `expired`, and warns of confirmed returns the bank is late with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.dispatch.models import Instruction, InstructionKind, InstructionState
from app.dispatch.transitions import move
from app.legal.holds import HOLD_KINDS, expiry, followed, in_force
from app.legal.models import ReturnState, VictimReturn
from app.legal.returns import add_working_days
from app.legal.service import LegalRules


@dataclass
class Watch:
    """What one pass did; a second pass over the same state does nothing."""

    lapse_warnings: int = 0
    freeze_warnings: int = 0
    lapsed: int = 0
    ended: int = 0  # ran out, but a renewal or freeze holds the money on
    returns_overdue: int = 0
    cases: set[int] = field(default_factory=set)


def watch(db: Session, *, now: dt.datetime, today: dt.date, rules: LegalRules) -> Watch:
    """One pass: warnings before a hold runs out, the holds run out, the returns overdue."""
    done = Watch()
    _warn_before_expiry(db, done=done, now=now, rules=rules)
    _expire(db, done=done, now=now)
    _warn_of_overdue_returns(db, done=done, now=now, today=today, rules=rules)
    return done


def _due(query: Select[Any]) -> Select[Any]:
    # SKIP LOCKED: two beats (or a slow pass and the next) never warn or lapse one hold twice.
    return query.order_by(Instruction.expires_at).with_for_update(of=Instruction, skip_locked=True)


def _warn_before_expiry(db: Session, *, done: Watch, now: dt.datetime, rules: LegalRules) -> None:
    """Once per hold, within its lead time of running out with nothing to carry it on."""
    for kind, lead, event in (
        (InstructionKind.stop_payment, rules.lapse_warning, "hold.lapse_warning"),
        (InstructionKind.freeze, rules.freeze_warning, "hold.freeze_renewal_due"),
    ):
        for hold in db.scalars(
            _due(
                select(Instruction).where(
                    in_force(now),
                    Instruction.kind == kind.value,
                    Instruction.warned_at.is_(None),
                    Instruction.expires_at <= now + lead,
                    ~followed(holding_only=False),
                )
            )
        ):
            hold.warned_at = now
            assert hold.expires_at is not None
            record_event(
                db,
                kind=event,
                case_id=hold.case_id,
                instruction_id=hold.id,
                data={
                    "kind": hold.kind,
                    "expires_at": expiry(hold),
                    "hours_left": round((hold.expires_at - now).total_seconds() / 3600, 1),
                    "amount": str(hold.amount_stopped),
                },
            )
            done.cases.add(hold.case_id)
            if kind == InstructionKind.stop_payment:
                done.lapse_warnings += 1
            else:
                done.freeze_warnings += 1


def _expire(db: Session, *, done: Watch, now: dt.datetime) -> None:
    """Holds whose term is over: `expired`, and lapsed unless a later hold carried them on."""
    # Whether a later hold carried each one on comes in the same query, not one per hold.
    for hold, carried_on in db.execute(
        _due(
            select(Instruction, followed(holding_only=True)).where(
                Instruction.kind.in_(HOLD_KINDS),
                Instruction.state == InstructionState.done.value,
                Instruction.expires_at <= now,
                Instruction.released_at.is_(None),
            )
        )
    ):
        move(
            db,
            hold,
            InstructionState.expired,
            data={"expires_at": expiry(hold), "carried_on": bool(carried_on)},
        )
        done.cases.add(hold.case_id)
        if carried_on:
            done.ended += 1
            continue
        done.lapsed += 1
        record_event(
            db,
            kind="hold.lapsed",
            case_id=hold.case_id,
            instruction_id=hold.id,
            data={
                "kind": hold.kind,
                "amount": str(hold.amount_stopped),
                "expires_at": expiry(hold),
            },
        )


def _warn_of_overdue_returns(
    db: Session, *, done: Watch, now: dt.datetime, today: dt.date, rules: LegalRules
) -> None:
    """Once per confirmed return the bank has not paid within its working days."""
    for due in db.scalars(
        select(VictimReturn)
        .where(VictimReturn.state == ReturnState.confirmed.value, VictimReturn.warned_at.is_(None))
        .with_for_update(skip_locked=True)
    ):
        deadline = add_working_days(due.payable_from, rules.return_working_days)
        if today <= deadline:
            continue
        due.warned_at = now
        data = {"return_id": due.id, "amount": str(due.amount), "due": deadline.isoformat()}
        record_event(db, kind="return.overdue", case_id=due.case_id, data=data)
        done.returns_overdue += 1
