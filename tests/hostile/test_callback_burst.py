"""Callbacks at the same moment: every outcome of a case at once, and one callback delivered
eight times at once. Each outcome is applied once, audited once, and the case rolls up as if
they had come one by one.

These requests commit (a TestClient inside the rolled-back test transaction cannot show a
race), into a database of these tests' own.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import Event
from app.callbacks.models import CallbackInbox
from app.cases.models import Case
from app.db import transaction
from app.dispatch.models import Instruction
from app.institutions.models import Institution
from tests.callbacks.signing import outcome, signed
from tests.casework import instructions, make_case
from tests.factories import fresh_card_no
from tests.hostile.repeat_fixtures import committed, own_app, own_database

__all__ = ["committed", "own_app", "own_database"]

# Two accounts at each bank the factories know card numbers of: eight stop-payments.
BANKS = ("CCB", "ICBC", "ABC", "CMB") * 2


def _case(factory: sessionmaker[Session]) -> tuple[int, list[tuple[str, bytes, dict[str, str]]]]:
    """A case with a stop-payment at each of BANKS, and each one's signed outcome."""
    with transaction(factory) as db:
        case = make_case(db, *((fresh_card_no(code), "3000.00") for code in BANKS))
        calls = []
        for stop in instructions(db, case):
            code = db.scalar(select(Institution.code).where(Institution.id == stop.institution_id))
            assert code is not None
            calls.append((code, *signed(db, code, outcome(stop))))
        return case.id, calls


def _at_once(client: TestClient, calls: list[tuple[str, bytes, dict[str, str]]]) -> list[Any]:
    start = threading.Barrier(len(calls))

    def post(call: tuple[str, bytes, dict[str, str]]) -> httpx.Response:
        code, body, headers = call
        start.wait(timeout=30)
        return client.post(f"/api/v1/callbacks/{code}", content=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(post, calls))


def _events(db: Session, case_id: int, kind: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.case_id == case_id, Event.kind == kind)))


def test_every_outcome_of_a_case_at_once_is_applied_once_and_the_case_rolls_up(
    own_app: FastAPI, committed: sessionmaker[Session]
) -> None:
    case_id, calls = _case(committed)
    with TestClient(own_app) as client:
        answers = _at_once(client, calls)
    assert [a.json() for a in answers] == [{"status": "applied"}] * len(BANKS)
    with committed() as db:
        stops = instructions(db, db.get_one(Case, case_id))
        assert {(s.state, s.outcome) for s in stops} == {("done", "stopped_full")}
        assert db.get_one(Case, case_id).status == "stopped"
        done = _events(db, case_id, "instruction.done")
        assert sorted(e.instruction_id for e in done) == sorted(s.id for s in stops)
        assert {e.data["from"] for e in done} == {"pending"}
        assert {e.actor_kind for e in done} == {"institution"}
        changed = _events(db, case_id, "case.status_changed")
        assert [(e.data["from"], e.data["to"]) for e in changed] == [("stopping", "stopped")]
        inbox = select(func.count()).where(CallbackInbox.instruction_id.in_([s.id for s in stops]))
        assert db.scalar(inbox) == len(BANKS)


def test_one_callback_delivered_eight_times_at_once_is_applied_once(
    own_app: FastAPI, committed: sessionmaker[Session]
) -> None:
    case_id, calls = _case(committed)
    with TestClient(own_app) as client:
        answers = _at_once(client, [calls[0]] * 8)
    statuses = sorted(a.json()["status"] for a in answers)
    assert statuses == ["applied"] + ["duplicate"] * 7
    with committed() as db:
        stop = db.scalars(
            select(Instruction).where(Instruction.case_id == case_id).order_by(Instruction.id)
        ).first()
        assert stop is not None
        done = _events(db, case_id, "instruction.done")
        assert len(done) == 1
        assert (
            db.scalar(
                select(func.count()).where(CallbackInbox.webhook_id == calls[0][2]["webhook-id"])
            )
            == 1
        )
        assert db.get_one(Case, case_id).status == "stopping"
