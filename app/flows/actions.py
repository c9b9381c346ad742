"""After a person's action or the legal clock's tick: the action, then the case rolled up.

Each use-case here is what a router or a task calls; the domain services they wrap never
roll a case up themselves.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.models import Account, Case
from app.dispatch import service as dispatch
from app.dispatch.models import Instruction
from app.flows.rollup import rollup_status
from app.flows.rules import Rules
from app.legal import return_service as returns
from app.legal import service as legal
from app.legal.models import VictimReturn
from app.legal.watch import Watch, watch


def freeze(
    db: Session,
    *,
    case: Case,
    account: Account,
    user: User,
    now: dt.datetime,
    document_no: str,
    amount: Decimal | None,
    scan: legal.Scan | None,
) -> Instruction:
    """A freeze sent for an account of the case (converting its stop-payment)."""
    instruction = legal.freeze(
        db,
        case=case,
        account=account,
        user=user,
        now=now,
        document_no=document_no,
        amount=amount,
        scan=scan,
    )
    rollup_status(db, case_id=case.id, now=now)
    return instruction


def renew(
    db: Session,
    *,
    case: Case,
    account: Account,
    user: User,
    rules: Rules,
    now: dt.datetime,
    document_no: str | None,
    scan: legal.Scan | None,
) -> Instruction:
    """A renewal of the hold in force on an account of the case."""
    instruction = legal.renew(
        db,
        case=case,
        account=account,
        user=user,
        rules=rules.legal,
        now=now,
        document_no=document_no,
        scan=scan,
    )
    rollup_status(db, case_id=case.id, now=now)
    return instruction


def release(
    db: Session, *, case: Case, account: Account, user: User, now: dt.datetime, reason: str
) -> Instruction:
    """A release sent for the case's hold on an account."""
    instruction = legal.release(db, case=case, account=account, user=user, now=now, reason=reason)
    rollup_status(db, case_id=case.id, now=now)
    return instruction


def resend(
    db: Session,
    *,
    case: Case,
    original: Instruction,
    holder_name: str | None,
    amount: Decimal | None,
    transaction_time: dt.datetime | None,
    user: User,
) -> Instruction:
    """A stop-payment sent again with the fields its institution said did not match."""
    resent = dispatch.resend_corrected(
        db,
        original=original,
        priority=case.priority,
        holder_name=holder_name,
        amount=amount,
        transaction_time=transaction_time,
        user=user,
    )
    rollup_status(db, case_id=case.id)
    return resent


def confirm_returns(
    db: Session,
    *,
    account_id: int,
    fingerprint: str,
    user: User,
    now: dt.datetime,
    today: dt.date,
    rules: Rules,
) -> list[VictimReturn]:
    """The proposed split of an account's frozen money, confirmed as returns to be paid."""
    rows = returns.confirm(
        db,
        account_id=account_id,
        fingerprint=fingerprint,
        user=user,
        now=now,
        today=today,
        rules=rules.legal,
    )
    for case_id in dict.fromkeys(row.case_id for row in rows):
        rollup_status(db, case_id=case_id, now=now)
    return rows


def complete_return(
    db: Session,
    *,
    case: Case,
    return_id: int,
    reference: str,
    user: User,
    now: dt.datetime,
    today: dt.date,
) -> VictimReturn | None:
    """The bank paid the victim: None when the case has no such return."""
    row = returns.complete(
        db, case=case, return_id=return_id, reference=reference, user=user, now=now, today=today
    )
    if row is not None:
        rollup_status(db, case_id=case.id, now=now)
    return row


def deadline_passed(db: Session, *, now: dt.datetime, today: dt.date, rules: Rules) -> Watch:
    """The legal clock's watch (warnings, lapses, overdue returns); its cases rolled up."""
    done = watch(db, now=now, today=today, rules=rules.legal)
    for case_id in sorted(done.cases):
        rollup_status(db, case_id=case_id, now=now)
    return done
