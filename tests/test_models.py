"""The database itself refuses bad rows: constraints a service bug cannot get past."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.cases.models import Account, Case, CaseAccount, Transfer
from app.dispatch.models import Instruction
from tests.factories import institution, make_user


def _insert(db: Session, row: object) -> None:
    """Insert one row in a savepoint, so a refused row does not spoil the test's transaction."""
    with db.begin_nested():
        db.add(row)
        db.flush()


def _account(db: Session, number: str, code: str = "ICBC") -> Account:
    number = f"{number}{uuid.uuid4().int % 10**9:09d}"  # unique: other tests commit accounts
    acc = Account(
        institution_id=institution(db, code).id,
        account_no=number,
        account_no_norm=number.replace(" ", ""),
        holder_name="张三",
        kind="bank_card",
    )
    db.add(acc)
    db.flush()
    return acc


def _case(db: Session) -> Case:
    user = make_user(db)
    case = Case(
        case_no=f"ZF-TEST-{uuid.uuid4().hex[:8]}",
        received_at=dt.datetime.now(dt.UTC),
        channel="phone_call",
        victim_name="李四",
        fraud_type="brushing_rebate",
        total_amount=Decimal("1000.00"),
        priority="high",
        unit_id=user.unit_id,
        call_taker_id=user.id,
    )
    db.add(case)
    db.flush()
    return case


def test_one_account_row_per_institution_and_number(db: Session) -> None:
    first = _account(db, "6222020")
    twin = Account(
        institution_id=institution(db, "CCB").id,
        account_no=first.account_no,
        account_no_norm=first.account_no_norm,
        kind="bank_card",
    )
    _insert(db, twin)  # the same number at another bank is another account
    again = Account(
        institution_id=first.institution_id,
        account_no=" ".join(first.account_no),
        account_no_norm=first.account_no_norm,
        kind="bank_card",
    )
    with pytest.raises(IntegrityError):
        _insert(db, again)


def test_transfer_amount_must_be_positive_and_between_two_accounts(db: Session) -> None:
    case = _case(db)
    a, b = _account(db, "1001"), _account(db, "1002")
    now = dt.datetime.now(dt.UTC)
    for amount, to in ((Decimal("0"), b), (Decimal("10.00"), a)):
        transfer = Transfer(
            case_id=case.id,
            from_account_id=a.id,
            to_account_id=to.id,
            amount=amount,
            occurred_at=now,
            channel="mobile_banking",
        )
        with pytest.raises(IntegrityError):
            _insert(db, transfer)


def test_only_the_victims_account_sits_at_level_zero(db: Session) -> None:
    case = _case(db)
    acc = _account(db, "2001")
    with pytest.raises(IntegrityError):
        _insert(db, CaseAccount(case_id=case.id, account_id=acc.id, role="suspect", level=0))


def test_a_done_instruction_has_an_outcome(db: Session) -> None:
    case = _case(db)
    acc = _account(db, "3001")
    instruction = Instruction(
        case_id=case.id,
        account_id=acc.id,
        institution_id=acc.institution_id,
        kind="stop_payment",
        state="done",
        idempotency_key="k-1",
    )
    with pytest.raises(IntegrityError):
        _insert(db, instruction)
