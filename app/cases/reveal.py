"""Revealing one masked value of a case to a supervisor: each reveal is an audit event that
says who, which case and which field, never the value itself."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import Account, Case, CaseAccount
from app.cases.schemas import PersonalField

REVEALED = "pii.revealed"


class NothingToReveal(Exception):
    """The case records no such value (no ID number, or no such account in the case)."""


def reveal_value(
    db: Session, *, case: Case, field: PersonalField, account_id: int | None, user: User
) -> str:
    """The value in clear, after recording who asked for it."""
    value: str | None
    if field == PersonalField.victim_id_no:
        value = case.victim_id_no
    elif field == PersonalField.victim_phone:
        value = case.victim_phone
    else:
        value = db.scalar(
            select(Account.account_no)
            .join(CaseAccount, CaseAccount.account_id == Account.id)
            .where(CaseAccount.case_id == case.id, Account.id == account_id)
        )
    if value is None:
        raise NothingToReveal(field)
    data: dict[str, object] = {"field": field.value}
    if field == PersonalField.account_no:
        data["account_id"] = account_id
    record_event(db, kind=REVEALED, user=user, case_id=case.id, data=data)
    return value
