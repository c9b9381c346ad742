"""Finding and listing the cases a user's unit may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Exists, Select, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from app.auth.models import Unit, User
from app.auth.service import unit_subtree
from app.cases.models import Account, AccountRole, Case, CaseAccount
from app.cases.schemas import (
    CasePage,
    CaseSummary,
)
from app.cases.validation import normalise_account_no
from app.db import among


@dataclass(frozen=True)
class CaseFilters:
    status: str | None = None
    priority: str | None = None
    fraud_type: str | None = None
    received_from: dt.datetime | None = None
    received_to: dt.datetime | None = None
    account_no: str | None = None


def victim_anywhere(account_id: ColumnElement[int] | InstrumentedAttribute[int]) -> Exists:
    """Whether the account is a victim's own in any case: its number is then masked on every
    page and export, whichever case shows it (app/privacy.py)."""
    link = aliased(CaseAccount)
    return exists().where(link.account_id == account_id, link.role == AccountRole.victim.value)


def victim_accounts(db: Session, account_ids: Iterable[int]) -> set[int]:
    """Those of the accounts that are a victim's own in some case."""
    ids = set(account_ids)
    if not ids:
        return set()
    return set(
        db.scalars(
            select(CaseAccount.account_id).where(
                among(CaseAccount.account_id, ids), CaseAccount.role == AccountRole.victim.value
            )
        )
    )


def visible_cases(user: User) -> Select[Case]:
    """Cases taken by the user's unit or any unit under it."""
    return select(Case).where(Case.unit_id.in_(unit_subtree(user.unit_id)))


def find_case(db: Session, *, case_no: str, user: User) -> Case | None:
    return db.scalar(visible_cases(user).where(Case.case_no == case_no))


def case_summary(case: Case, unit_code: str, username: str) -> CaseSummary:
    return CaseSummary(
        case_no=case.case_no,
        received_at=case.received_at,
        recorded_at=case.recorded_at,
        channel=case.channel,
        fraud_type=case.fraud_type,
        priority=case.priority,
        status=case.status,
        victim_name=case.victim_name,
        victim_is_enterprise=case.victim_is_enterprise,
        total_amount=case.total_amount,
        unit=unit_code,
        call_taker=username,
    )


def list_cases(
    db: Session, *, user: User, filters: CaseFilters, page: int, page_size: int
) -> CasePage:
    query = visible_cases(user)
    f = filters
    if f.status:
        query = query.where(Case.status == f.status)
    if f.priority:
        query = query.where(Case.priority == f.priority)
    if f.fraud_type:
        query = query.where(Case.fraud_type == f.fraud_type)
    if f.received_from:
        query = query.where(Case.received_at >= f.received_from)
    if f.received_to:
        query = query.where(Case.received_at < f.received_to)
    if f.account_no:
        holding = (
            select(CaseAccount.case_id)
            .join(Account, Account.id == CaseAccount.account_id)
            .where(Account.account_no_norm == normalise_account_no(f.account_no))
        )
        query = query.where(Case.id.in_(holding))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(
        query.add_columns(Unit.code, User.username)
        .join(Unit, Unit.id == Case.unit_id)
        .join(User, User.id == Case.call_taker_id)
        .order_by(Case.received_at.desc(), Case.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    items = [case_summary(case, unit_code, username) for case, unit_code, username in rows]
    return CasePage(items=items, total=total, page=page, page_size=page_size)
