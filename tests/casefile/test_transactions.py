"""Real transactions (no per-test rollback): a failed write leaves nothing, a double submit is one.

These tests commit to the session's throw-away database, so they use unique names and numbers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.casefile import create as service
from app.cases.models import Account, Case, IdempotencyKey
from app.config import Settings
from app.db import transaction
from app.dispatch.models import Instruction
from app.main import create_app
from tests.factories import bearer, case_payload, make_user


@pytest.fixture
def real_app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def headers(fresh_sessionmaker: sessionmaker[Session]) -> dict[str, str]:
    with transaction(fresh_sessionmaker) as db:
        return bearer(db, make_user(db))


def _counts(factory: sessionmaker[Session], payload: dict[str, Any]) -> tuple[int, ...]:
    numbers = [t["to"]["account_no"] for t in payload["transfers"]]
    with factory() as db:
        cases = db.scalar(select(func.count()).where(Case.victim_name == payload["victim"]["name"]))
        accounts = db.scalar(select(func.count()).where(Account.account_no.in_(numbers)))
        instructions = db.scalar(
            select(func.count())
            .select_from(Instruction)
            .join(Case, Case.id == Instruction.case_id)
            .where(Case.victim_name == payload["victim"]["name"])
        )
    return cases or 0, accounts or 0, instructions or 0


def test_a_failure_after_rows_were_flushed_leaves_no_row_behind(
    real_app: FastAPI,
    headers: dict[str, str],
    fresh_sessionmaker: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = case_payload(transfers=5, victim={"name": f"victim-{uuid.uuid4().hex[:8]}"})
    key = str(uuid.uuid4())

    def fail(*_args: object, **_kwargs: object) -> None:
        # By now the case, accounts, transfers, instructions and outbox rows are flushed.
        raise RuntimeError("forced failure inside the write")

    monkeypatch.setattr(service, "record_event", fail)
    with TestClient(real_app, raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/cases", json=payload, headers={**headers, "Idempotency-Key": key}
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert _counts(fresh_sessionmaker, payload) == (0, 0, 0)
    with fresh_sessionmaker() as db:
        assert db.scalar(select(func.count()).where(IdempotencyKey.key == key)) == 0

    monkeypatch.undo()
    with TestClient(real_app) as client:
        again = client.post(
            "/api/v1/cases", json=payload, headers={**headers, "Idempotency-Key": key}
        )
    assert again.status_code == 201, "the key was not used up by the failed attempt"
    assert _counts(fresh_sessionmaker, payload) == (1, 5, 6)


def test_a_double_click_at_the_same_moment_is_one_case(
    real_app: FastAPI, headers: dict[str, str], fresh_sessionmaker: sessionmaker[Session]
) -> None:
    payload = case_payload(transfers=3, victim={"name": f"victim-{uuid.uuid4().hex[:8]}"})
    submit = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    with TestClient(real_app) as client, ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda _: client.post("/api/v1/cases", json=payload, headers=submit), range(4))
        )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["case_no"] for a in answers}) == 1
    assert _counts(fresh_sessionmaker, payload)[0] == 1


def test_the_answer_comes_after_the_commit(
    real_app: FastAPI, headers: dict[str, str], fresh_sessionmaker: sessionmaker[Session]
) -> None:
    payload = case_payload(victim={"name": f"victim-{uuid.uuid4().hex[:8]}"})
    with TestClient(real_app) as client:
        case_no = client.post("/api/v1/cases", json=payload, headers=headers).json()["case_no"]
    # Another connection sees the case the moment the 201 arrived.
    with fresh_sessionmaker() as db:
        assert db.scalar(select(Case.id).where(Case.case_no == case_no)) is not None
