"""A database of the repeat tests' own, committed to by real requests, and the states each
action needs (a bounced, a holding, an escalated stop-payment; a frozen account)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit, User
from app.auth.service import create_api_token
from app.cases.models import Case
from app.db import make_engine, make_sessionmaker, utcnow
from app.dispatch.models import Instruction
from app.main import create_app
from tests.casework import instructions, make_case
from tests.conftest import (
    BROKER_URL,
    migrated_database,
    service_settings,
)
from tests.e2e.conftest import BROKERS
from tests.e2e.stack import Stack, running_stack
from tests.factories import fresh_card_no, make_user

STACK_BROKER = BROKERS["redis"]


@pytest.fixture(scope="module")
def own_database() -> Iterator[str]:
    """Holds these tests commit would be in force in the shared database, where other tests
    run the watch over every case; so they get a database of their own."""
    with migrated_database() as url:
        yield url


@pytest.fixture
def committed(own_database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(own_database)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def own_app(own_database: str) -> Iterator[FastAPI]:
    app = create_app(service_settings(own_database, BROKER_URL))
    yield app
    app.state.engine.dispose()


class Scene:
    """One case with one level-1 CCB card, its stop-payment, and a supervisor's header."""

    def __init__(self, db: Session, amount: str = "5000.00") -> None:
        self.card = fresh_card_no("CCB")
        self.case: Case = make_case(db, (self.card, amount))
        [self.stop] = instructions(db, self.case)
        self.amount = Decimal(amount)
        unit = db.get_one(Unit, self.case.unit_id)
        supervisor = make_user(db, role=Role.supervisor, unit=unit)
        # One token per request of a burst, each already used: a token's first use writes
        # its row, and eight requests waiting on that one row would never meet.
        self.tokens = [self._token(db, supervisor) for _ in range(8)]
        self.headers = self.tokens[0]

    @staticmethod
    def _token(db: Session, user: User) -> dict[str, str]:
        token, row = create_api_token(db, user=user, name="repeat", max_age_s=3600)
        row.last_used_at = utcnow()
        return {"Authorization": f"Bearer {token}"}

    @property
    def account(self) -> dict[str, str]:
        return {"institution": "CCB", "account_no": self.card}

    def url(self, tail: str) -> str:
        return f"/api/v1/cases/{self.case.case_no}/{tail}"


def bounced(stop: Instruction, field: str = "holder_name") -> None:
    now = utcnow()
    stop.state, stop.outcome, stop.mismatch_field = "done", "mismatch", field
    stop.first_attempt_at = stop.acked_at = stop.completed_at = now


def holding(stop: Instruction, amount: Decimal) -> None:
    now = utcnow()
    stop.state, stop.outcome = "done", "stopped_full"
    stop.amount_stopped = stop.balance = amount
    stop.first_attempt_at = stop.acked_at = stop.completed_at = now
    stop.effective_at, stop.expires_at = now, now + dt.timedelta(hours=48)


def frozen(db: Session, stop: Instruction, amount: Decimal) -> None:
    """The stop-payment held, then converted into a freeze the bank confirmed."""
    holding(stop, amount)
    now = utcnow()
    freeze = Instruction(
        case_id=stop.case_id,
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
    db.add(freeze)


def escalated(stop: Instruction) -> None:
    stop.state, stop.attempts, stop.last_error = "escalated", 4, "timeout"
    stop.escalated_at = utcnow() - dt.timedelta(minutes=3)


def used_tokens(db: Session, user: User, n: int) -> list[dict[str, str]]:
    """`n` bearer headers of `user`, each already used (see Scene)."""
    return [Scene._token(db, user) for _ in range(n)]


@pytest.fixture(scope="module")
def repeat_stack(own_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API, worker, beat and simulator as processes on the tests' own database (run under
    `flock /tmp/stack.lock`: the broker database is the end-to-end tests' fixed one)."""
    queue = f"repeat-{uuid.uuid4().hex[:12]}"
    with running_stack(
        database_url=own_database,
        broker_url=STACK_BROKER,
        queue=queue,
        logs=tmp_path_factory.mktemp("repeat-stack"),
        settings={"STOPAY_WORKER_CONCURRENCY": "16"},
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def page_stack(own_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The API alone on the tests' own database, for the browser: no worker sends anything,
    so an action's one effect is the instruction it makes (under `flock /tmp/stack.lock`)."""
    with running_stack(
        database_url=own_database,
        broker_url=STACK_BROKER,
        queue=f"repeat-pages-{uuid.uuid4().hex[:12]}",
        logs=tmp_path_factory.mktemp("repeat-pages"),
        settings={},
        workers=(),
        services=("api",),
    ) as stack:
        yield stack
