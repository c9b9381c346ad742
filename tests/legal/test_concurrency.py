"""Two supervisors confirming the same split at the same moment return the money once."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import User
from app.db import make_engine, make_sessionmaker, transaction, utcnow
from app.dispatch.models import Instruction
from app.legal import return_service
from app.legal.models import VictimReturn
from app.legal.service import LegalRules, Refused
from tests.casework import instructions, make_case
from tests.conftest import migrated_database
from tests.factories import fresh_card_no, make_user

RULES = LegalRules()


@pytest.fixture
def fresh_sessionmaker() -> Iterator[sessionmaker[Session]]:
    """A database of this test's own: the holds it commits would otherwise be in force in
    the shared one, where other tests run the watch over every case."""
    with migrated_database() as url:
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        engine.dispose()


def _frozen_account(db: Session, amount: Decimal) -> tuple[int, int]:
    """A case whose stop-payment the bank converted into a freeze; (account id, user id)."""
    now = utcnow()
    case = make_case(db, (fresh_card_no("CCB"), str(amount)))
    [stop] = instructions(db, case)
    stop.state, stop.outcome, stop.amount_stopped = "done", "stopped_full", amount
    stop.effective_at, stop.expires_at = now, now + dt.timedelta(hours=48)
    assert stop.account_id is not None
    db.add(
        Instruction(
            case_id=case.id,
            account_id=stop.account_id,
            institution_id=stop.institution_id,
            parent_id=stop.id,
            kind="freeze",
            state="done",
            outcome="frozen_full",
            amount_requested=amount,
            amount_stopped=amount,
            document_no="D-1",
            effective_at=now,
            expires_at=now + dt.timedelta(days=180),
            idempotency_key=uuid.uuid4().hex,
        )
    )
    return stop.account_id, make_user(db).id


def test_two_confirmations_at_once_return_the_frozen_money_once(
    fresh_sessionmaker: sessionmaker[Session],
) -> None:
    with transaction(fresh_sessionmaker) as db:
        account_id, user_id = _frozen_account(db, Decimal("50000.00"))
    now, today = utcnow(), dt.date.today()
    with fresh_sessionmaker() as db:
        seen = return_service.propose(
            db, account_id=account_id, now=now, today=today, rules=RULES
        ).fingerprint
    start = threading.Barrier(2)
    results: list[str] = []

    def confirm() -> None:
        with transaction(fresh_sessionmaker) as db:
            user = db.get_one(User, user_id)
            start.wait()
            try:
                return_service.confirm(
                    db,
                    account_id=account_id,
                    fingerprint=seen,
                    user=user,
                    now=now,
                    today=today,
                    rules=RULES,
                )
                results.append("confirmed")
            except Refused as exc:
                results.append(exc.key)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["confirmed", "legal.nothing_to_return"]
    with fresh_sessionmaker() as db:
        returned = db.scalar(
            select(func.sum(VictimReturn.amount)).where(VictimReturn.account_id == account_id)
        )
    assert returned == Decimal("50000.00")
