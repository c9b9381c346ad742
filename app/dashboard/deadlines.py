"""Deadlines on the legal clock, each with what the supervisor does about it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, extract, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from app.auth.models import User
from app.cases.models import Account, Case
from app.cases.reads import victim_anywhere
from app.dashboard.schemas import Deadline, DeadlineAction, DeadlineKind
from app.dashboard.service import visible
from app.dispatch.models import Instruction, InstructionKind, InstructionState
from app.institutions.models import Institution
from app.legal.holds import HOLDING, followed, in_force
from app.legal.models import ReturnState, VictimReturn
from app.legal.returns import add_working_days
from app.legal.service import LegalRules
from app.privacy import shown_account_no

# Lapsed stop-payments stay on the list this long: a day to freeze after the fact (or to
# note why not); older lapses are on each case's page and in its totals.
LAPSED_SHOWN = dt.timedelta(hours=24)


ACTIONS = {
    DeadlineKind.lapsing: DeadlineAction.freeze,
    DeadlineKind.lapsed: DeadlineAction.freeze,
    DeadlineKind.freeze_renewal: DeadlineAction.renew,
}


def _groups(now: dt.datetime, rules: LegalRules) -> dict[DeadlineKind, Any]:
    stop, freeze = InstructionKind.stop_payment.value, InstructionKind.freeze.value
    return {
        DeadlineKind.lapsing: and_(
            in_force(now),
            Instruction.kind == stop,
            Instruction.expires_at <= now + rules.lapse_warning,
        ),
        DeadlineKind.lapsed: and_(
            Instruction.kind == stop,
            Instruction.state == InstructionState.expired.value,
            Instruction.outcome.in_(HOLDING),
            Instruction.released_at.is_(None),
            Instruction.expires_at > now - LAPSED_SHOWN,
        ),
        DeadlineKind.freeze_renewal: and_(
            in_force(now),
            Instruction.kind == freeze,
            Instruction.expires_at <= now + rules.freeze_warning,
        ),
    }


def _ranked_holds(*, user: User, now: dt.datetime, rules: LegalRules) -> Subquery:
    """Each hold with a deadline: its kind, its place within the kind (`n`) and the kind's
    `total`."""
    groups = _groups(now, rules)
    kind = case(*((cond, k.value) for k, cond in groups.items()))
    epoch = extract("epoch", Instruction.expires_at)
    due = case((kind == DeadlineKind.lapsed.value, -epoch), else_=epoch)
    return (
        select(
            Instruction.id,
            kind.label("kind"),
            func.row_number().over(partition_by=kind, order_by=(due, Instruction.id)).label("n"),
            func.count().over(partition_by=kind).label("total"),
        )
        .join(Case, Case.id == Instruction.case_id)
        .where(visible(user), ~followed(holding_only=False), or_(*groups.values()))
        .subquery()
    )


def _hold_deadlines(
    db: Session,
    *,
    user: User,
    now: dt.datetime,
    rules: LegalRules,
    limit: int,
    counts: dict[DeadlineKind, int],
) -> list[Deadline]:
    """All three kinds of hold in one pass over the holds with nothing after them (the
    costly part), numbered within each kind: the soonest first, but the latest lapse first
    (older ones have usually been dealt with)."""
    ranked = _ranked_holds(user=user, now=now, rules=rules)
    # Only the columns shown: a whole Instruction per row costs more than the query.
    rows = db.execute(
        select(
            Instruction.id,
            Instruction.amount_stopped,
            Instruction.expires_at,
            Case.case_no,
            Institution.code,
            Account.account_no,
            victim_anywhere(Account.id),
            ranked.c.kind,
            ranked.c.total,
        )
        .join(ranked, ranked.c.id == Instruction.id)
        .join(Case, Case.id == Instruction.case_id)
        .join(Institution, Institution.id == Instruction.institution_id)
        .join(Account, Account.id == Instruction.account_id)
        .where(ranked.c.n <= limit)
    )
    found = []
    for hold_id, amount, expires_at, case_no, code, account_no, victim, name, total in rows:
        kind_ = DeadlineKind(name)
        counts[kind_] = total
        found.append(
            Deadline(
                kind=kind_,
                action=ACTIONS[kind_],
                case_no=case_no,
                institution=code,
                account_no=shown_account_no(account_no, victim=victim),
                amount=amount or 0,
                deadline=expires_at,
                instruction_id=hold_id,
            )
        )
    return found


def _end_of(day: dt.date, timezone: str) -> dt.datetime:
    zone = ZoneInfo(timezone)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)


def _return_deadlines(
    db: Session,
    *,
    user: User,
    today: dt.date,
    rules: LegalRules,
    timezone: str,
    limit: int,
    counts: dict[DeadlineKind, int],
) -> list[Deadline]:
    rows = db.execute(
        select(
            VictimReturn,
            Case.case_no,
            Institution.code,
            Account.account_no,
            victim_anywhere(Account.id),
        )
        .join(Case, Case.id == VictimReturn.case_id)
        .join(Account, Account.id == VictimReturn.account_id)
        .join(Institution, Institution.id == Account.institution_id)
        .where(
            visible(user),
            VictimReturn.state == ReturnState.confirmed.value,
            VictimReturn.payable_from <= today,
        )
        .order_by(VictimReturn.payable_from, VictimReturn.id)
        .limit(limit)
    )
    found = []
    for due, case_no, code, account_no, victim in rows:
        last_day = add_working_days(due.payable_from, rules.return_working_days)
        kind = DeadlineKind.return_overdue if today > last_day else DeadlineKind.return_due
        found.append(
            Deadline(
                kind=kind,
                action=DeadlineAction.complete_return,
                case_no=case_no,
                institution=code,
                account_no=shown_account_no(account_no, victim=victim),
                amount=due.amount,
                deadline=_end_of(last_day, timezone),
                return_id=due.id,
            )
        )
        counts[kind] = counts.get(kind, 0) + 1
    return found


def deadlines(
    db: Session,
    *,
    user: User,
    now: dt.datetime,
    rules: LegalRules,
    timezone: str,
    limit: int,
) -> tuple[list[Deadline], dict[DeadlineKind, int]]:
    """Soonest first: lapsing stop-payments, lapsed ones, freezes to renew, returns to pay;
    at most `limit` of each kind, with how many there are of each."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    counts = dict.fromkeys(DeadlineKind, 0)
    found = _hold_deadlines(db, user=user, now=now, rules=rules, limit=limit, counts=counts)
    found += _return_deadlines(
        db, user=user, today=today, rules=rules, timezone=timezone, limit=limit, counts=counts
    )
    return sorted(found, key=lambda d: d.deadline), counts
