"""Cases made in-process and driven by signed callbacks, as the trace and legal tests need."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, Unit
from app.casefile.create import create_case
from app.cases.models import Account, Case
from app.cases.schemas import CaseCreate
from app.dispatch.models import Instruction
from app.institutions.models import Institution
from tests.callbacks.signing import outcome, post, signed
from tests.factories import bearer, case_payload, make_user, transfer_payload

AT = dt.datetime(2026, 11, 22, 9, 24, tzinfo=dt.UTC)


def make_case(db: Session, *to: tuple[str, str], holder_name: str = "刘某", **changes: Any) -> Case:
    """A report of one victim payment per (card number, amount) to holder `holder_name`;
    `changes` to each transfer."""
    transfers = [
        transfer_payload(
            to={"account_no": number, "holder_name": holder_name}, amount=amount, **changes
        )
        for number, amount in to
    ]
    data = CaseCreate.model_validate(case_payload(transfers=transfers))
    _, created = create_case(db, data=data, user=make_user(db), zone=ZoneInfo("Asia/Shanghai"))
    return db.scalars(select(Case).where(Case.case_no == created.case_no)).one()


def instructions(
    db: Session, case: Case, kind: str = "stop_payment", account_no: str | None = None
) -> list[Instruction]:
    query = select(Instruction).where(Instruction.case_id == case.id, Instruction.kind == kind)
    if account_no is not None:
        query = query.join(Account, Account.id == Instruction.account_id).where(
            Account.account_no == account_no
        )
    return list(db.scalars(query.order_by(Instruction.id)))


def onward(bank: str, number: str, amount: str, *, minutes: int = 0) -> dict[str, Any]:
    return {
        "institution": bank,
        "account_no": number,
        "holder_name": "王某",
        "amount": amount,
        "occurred_at": (AT + dt.timedelta(minutes=minutes)).isoformat(),
        "reference": f"T{uuid.uuid4().hex[:12]}",
    }


def report(client: TestClient, db: Session, instruction: Instruction, **changes: Any) -> None:
    """The institution's signed callback with the outcome of `instruction`.

    An `effective_at` in the past is as if the instruction was sent just before it (an
    outcome cannot take effect before its instruction went out).
    """
    code = db.scalar(select(Institution.code).where(Institution.id == instruction.institution_id))
    assert code is not None
    effective_at = changes.get("effective_at")
    if isinstance(effective_at, str):
        sent = dt.datetime.fromisoformat(effective_at) - dt.timedelta(minutes=1)
        if instruction.first_attempt_at is None or instruction.first_attempt_at > sent:
            instruction.first_attempt_at = sent
            db.flush()
    answer = post(client, code, signed(db, code, outcome(instruction, **changes)))
    assert answer.json() == {"status": "applied"}, answer.text


def events(db: Session, case: Case, kind: str) -> list[Event]:
    query = select(Event).where(Event.case_id == case.id, Event.kind == kind)
    return list(db.scalars(query.order_by(Event.id)))


def supervisor_of(db: Session, case: Case) -> dict[str, str]:
    """Authorization for a supervisor of the case's own unit."""
    unit = db.get_one(Unit, case.unit_id)
    return bearer(db, make_user(db, role=Role.supervisor, unit=unit))
