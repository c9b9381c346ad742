"""The case's roll-up: its cheap probe for `stopping` always agrees with the full count."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Case, CaseStatus
from app.db import utcnow
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.flows.rollup import OPEN, _status, rollup_status
from app.legal.models import ReturnRule, ReturnState, VictimReturn
from tests.factories import instructions_of, make_case, make_user

STOP = InstructionKind.stop_payment.value
FREEZE = InstructionKind.freeze.value
OUTCOMES = {
    STOP: [
        Outcome.stopped_full,
        Outcome.stopped_partial,
        Outcome.no_funds,
        Outcome.mismatch,
        Outcome.released,
        Outcome.account_not_found,
    ],
    FREEZE: [Outcome.frozen_full, Outcome.frozen_partial, Outcome.released, Outcome.rejected],
}


def _add(db: Session, like: Instruction, *, kind: str, parent: Instruction | None) -> None:
    account = parent.account_id if parent is not None and kind == STOP else like.account_id
    db.add(
        Instruction(
            case_id=like.case_id,
            account_id=account,
            institution_id=like.institution_id,
            parent_id=parent.id if parent is not None else None,
            kind=kind,
            state=InstructionState.pending.value,
            idempotency_key=uuid.uuid4().hex,
        )
    )


def _complete(rng: random.Random, instruction: Instruction, now: dt.datetime) -> None:
    if rng.random() < 0.15:
        instruction.state = InstructionState.expired.value
        return
    instruction.state = InstructionState.done.value
    instruction.outcome = rng.choice(OUTCOMES[instruction.kind]).value
    instruction.amount_stopped = Decimal(rng.choice([0, 0, 100, 2500]))
    instruction.expires_at = now + dt.timedelta(hours=rng.choice([-2, 48]))
    if rng.random() < 0.1:
        instruction.released_at = now


def _step(rng: random.Random, db: Session, case: Case, user_id: int, now: dt.datetime) -> None:
    """One random thing that happens to a case: an outcome, a resend, an onward stop-payment,
    a freeze, a return."""
    every = list(db.scalars(select(Instruction).where(Instruction.case_id == case.id)))
    holds = [i for i in every if i.kind in (STOP, FREEZE)]
    still_open = [i for i in holds if i.state in OPEN]
    roll = rng.random()
    if still_open and roll < 0.6:
        _complete(rng, rng.choice(still_open), now)
    elif roll < 0.75:  # a corrected resend or renewal: a child about the same account
        _add(db, rng.choice(holds), kind=STOP, parent=rng.choice(holds))
    elif roll < 0.85:  # the next level: a child about another account
        _add(db, rng.choice(holds), kind=STOP, parent=None)
    elif roll < 0.96:
        _add(db, rng.choice(holds), kind=FREEZE, parent=None)
    else:
        db.add(
            VictimReturn(
                case_id=case.id,
                account_id=rng.choice(holds).account_id,
                amount=Decimal(100),
                rule=ReturnRule.single_victim.value,
                payable_from=now.date(),
                state=ReturnState.confirmed.value,
                batch=uuid.uuid4().hex,
                confirmed_by=user_id,
                confirmed_at=now,
            )
        )
    db.flush()


def test_the_probe_for_stopping_agrees_with_the_full_count_over_random_histories(
    db: Session,
) -> None:
    user = make_user(db)
    now = utcnow()
    answers: set[tuple[bool, CaseStatus]] = set()
    for seed in range(40):
        rng = random.Random(seed)
        case_no = make_case(db, transfers=rng.randint(1, 4), user=user)
        case = db.scalars(select(Case).where(Case.case_no == case_no)).one()
        assert {i.kind for i in instructions_of(db, case_no)} >= {STOP}
        for _ in range(rng.randint(5, 30)):
            _step(rng, db, case, user.id, now)
            full = _status(db, case_id=case.id, now=now, stopping=False)
            probed = _status(db, case_id=case.id, now=now, stopping=True)
            assert probed == full, f"seed {seed}"
            # The roll-up as a callback runs it: the case's status as it was locked.
            rollup_status(db, case_id=case.id, now=now, locked_status=case.status)
            if case.status != CaseStatus.closed:
                assert case.status == full, f"seed {seed}"
            answers.add((case.status == CaseStatus.stopping, full))
    # Both ways through: stopping by the probe, and every other status by the full count.
    assert {s for stopping, s in answers if not stopping} >= {
        CaseStatus.stopped,
        CaseStatus.partly_stopped,
        CaseStatus.nothing_stopped,
        CaseStatus.freezing,
        CaseStatus.frozen,
        CaseStatus.returning,
    }
    assert (True, CaseStatus.stopping) in answers
