"""Refused callbacks: the rule table, and what supervisors see of them (API and dashboard)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit
from app.callbacks.rules import ALLOWED
from app.config import Settings
from app.dispatch.models import InstructionKind, Outcome
from app.flows import Rules
from app.pages.dashboard import dashboard_panels
from tests.callbacks.signing import outcome, post, signed
from tests.casework import instructions, make_case, supervisor_of
from tests.factories import bearer, fresh_card_no, make_user


def test_every_kind_has_its_outcomes_and_every_outcome_a_kind() -> None:
    assert set(ALLOWED) == set(InstructionKind)
    assert set().union(*ALLOWED.values()) == set(Outcome)
    assert Outcome.frozen_full not in ALLOWED[InstructionKind.stop_payment]
    assert ALLOWED[InstructionKind.register] == {Outcome.registered, Outcome.rejected}


def _refuse_one(client: TestClient, db: Session) -> tuple[str, dict[str, str]]:
    case = make_case(db, (fresh_card_no("CCB"), "5000.00"))
    [stop] = instructions(db, case)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    bad = outcome(stop, amount_stopped="99999999.00", balance="10.00")
    answer = post(client, "CCB", signed(db, "CCB", bad, webhook_id=webhook_id))
    assert answer.status_code == 422
    return webhook_id, supervisor_of(db, case)


def test_supervisors_see_refused_callbacks_on_the_institution_row(
    client: TestClient, db: Session
) -> None:
    webhook_id, boss = _refuse_one(client, db)
    rows = client.get("/api/v1/institutions", headers=boss).json()
    [ccb] = [r for r in rows if r["code"] == "CCB"]
    assert ccb["refused_callbacks"] >= 1
    [latest] = [r for r in ccb["refused_latest"] if r["webhook_id"] == webhook_id]
    assert {r["field"] for r in latest["reasons"]} == {"data.amount_stopped"}
    call_taker = bearer(db, make_user(db))
    rows = client.get("/api/v1/institutions", headers=call_taker).json()
    [ccb] = [r for r in rows if r["code"] == "CCB"]
    assert ccb["refused_callbacks"] >= 1
    assert ccb["refused_latest"] == []
    overview = client.get("/api/v1/dashboard/overview", headers=boss).json()
    assert overview["refused_callbacks"] >= 1


def test_the_dashboard_page_lists_them(client: TestClient, db: Session, settings: Settings) -> None:
    webhook_id, _ = _refuse_one(client, db)
    boss = make_user(db, role=Role.supervisor, unit=db.query(Unit).first())
    panels = dashboard_panels(
        db, user=boss, settings=settings, rules=Rules.from_settings(settings), lang="en"
    )
    assert webhook_id in panels["scorecard"]
    assert "More than the 5000.00 the instruction asked for" in panels["scorecard"]
    assert 'id="fig-refused"' in panels["overview"]
