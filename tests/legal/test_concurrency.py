"""Actions at the same moment as others: two supervisors confirming the same split return the
money once; an action asked while the answer to the one under way commits sees one or the
other, never a state between them."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app import flows
from app.auth.models import User
from app.cases.models import Account, Case
from app.config import get_settings
from app.db import make_engine, make_sessionmaker, transaction, utcnow
from app.dispatch.models import Instruction
from app.dispatch.service import lock_case_account
from app.flows.rules import Rules
from app.legal import return_service, service
from app.legal.models import VictimReturn
from app.legal.service import LegalRules, Refused
from tests.callbacks.signing import outcome, signed
from tests.casework import instructions, make_case
from tests.conftest import migrated_database
from tests.factories import fresh_card_no, make_user

RULES = LegalRules()


@pytest.fixture(scope="module")
def fresh_sessionmaker() -> Iterator[sessionmaker[Session]]:
    """A database of this test's own: the holds it commits would otherwise be in force in
    the shared one, where other tests run the watch over every case. Each test makes its own
    case in it."""
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


# What the institution answers to each; a release reports no sums.
ANSWER: dict[str, dict[str, Any]] = {
    "release": {"outcome": "released", "amount_stopped": None, "balance": None},
    "freeze": {"outcome": "frozen_full"},
}


def _stopped_with(db: Session, kind: str) -> tuple[int, int, int]:
    """A case holding an account by a stop-payment, and a release or freeze of it sent and
    not yet answered; (case id, account id, the instruction under way)."""
    now = utcnow()
    case = make_case(db, (fresh_card_no("CCB"), "30000.00"))
    [stop] = instructions(db, case)
    stop.state, stop.outcome, stop.amount_stopped = "done", "stopped_full", Decimal("30000.00")
    stop.effective_at, stop.expires_at = now, now + dt.timedelta(hours=48)
    assert stop.account_id is not None
    busy = Instruction(
        case_id=case.id,
        account_id=stop.account_id,
        institution_id=stop.institution_id,
        parent_id=stop.id,
        kind=kind,
        state="sent",
        amount_requested=stop.amount_stopped if kind == "freeze" else None,
        document_no="D-1" if kind == "freeze" else None,
        first_attempt_at=now - dt.timedelta(minutes=1),
        idempotency_key=uuid.uuid4().hex,
    )
    db.add(busy)
    db.flush()
    return case.id, stop.account_id, busy.id


def _answer(factory: sessionmaker[Session], instruction_id: int) -> None:
    """The institution's signed answer to the instruction, applied and committed."""
    with transaction(factory) as db:
        db.execute(text("SET LOCAL lock_timeout = '5s'"))  # an error, not a hang, if blocked
        busy = db.get_one(Instruction, instruction_id)
        data = outcome(busy, **ANSWER[busy.kind])
        body, headers = signed(db, "CCB", data)
        rules = Rules.from_settings(get_settings())
        status = flows.outcome_received(
            db, code="CCB", body=body, headers=headers, now=utcnow(), rules=rules
        )
        assert status == "applied"


def _act(db: Session, kind: str, case: Case, account: Account, user: User) -> Instruction:
    now = utcnow()
    if kind == "release":
        return service.release(db, case=case, account=account, user=user, now=now, reason="核实")
    return service.freeze(
        db,
        case=case,
        account=account,
        user=user,
        now=now,
        document_no="D-2",
        amount=None,
        scan=None,
    )


@pytest.mark.parametrize("answered_before", [0, 1, 2, 3])
@pytest.mark.parametrize("kind", ["release", "freeze"])
def test_an_action_asked_while_the_answer_to_the_one_under_way_commits_is_refused(
    fresh_sessionmaker: sessionmaker[Session], kind: str, answered_before: int
) -> None:
    """The answer commits before the action's n-th statement, for each n: the action sees
    either the release or freeze still under way, or what its answer did (nothing left to
    release; already frozen). A second one is never sent."""
    with transaction(fresh_sessionmaker) as db:
        case_id, account_id, busy_id = _stopped_with(db, kind)
        user_id = make_user(db).id
    statements = itertools.count()

    def answer_first(*_: Any) -> None:
        if next(statements) == answered_before:
            _answer(fresh_sessionmaker, busy_id)

    with transaction(fresh_sessionmaker) as db:
        case, account = db.get_one(Case, case_id), db.get_one(Account, account_id)
        user = db.get_one(User, user_id)
        lock_case_account(db, case_id=case_id, account_id=account_id)  # as the API does
        event.listen(db.connection(), "before_cursor_execute", answer_first)
        with pytest.raises(Refused) as refused:
            _act(db, kind, case, account, user)
    done = "legal.nothing_to_release" if kind == "release" else "legal.already_frozen"
    assert refused.value.key in ("legal.under_way", done)
    with fresh_sessionmaker() as db:
        sent = select(func.count()).where(Instruction.case_id == case_id, Instruction.kind == kind)
        assert db.scalar(sent) == 1
