"""Disputed outcomes: a well-signed outcome that contradicts the one a done instruction has
is kept, shown to supervisors, never applied, and answered 409 `outcome-disputed`."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit
from app.callbacks.disputes import list_disputes
from app.callbacks.models import DisputedOutcome
from app.cases.models import Case
from app.dispatch.models import Instruction
from tests.callbacks.signing import outcome, post, signed
from tests.casework import events, instructions, make_case, supervisor_of
from tests.factories import bearer, fresh_card_no, make_user
from tests.intake.conftest import sign_in


def _done(client: TestClient, db: Session) -> tuple[Instruction, Case]:
    case = make_case(db, (fresh_card_no("CCB"), "5000.00"))
    [stop] = instructions(db, case)
    assert post(client, "CCB", signed(db, "CCB", outcome(stop))).json() == {"status": "applied"}
    db.refresh(stop)
    return stop, case


def _disputes(db: Session, stop: Instruction) -> int:
    return db.scalar(select(func.count()).where(DisputedOutcome.instruction_id == stop.id)) or 0


def test_a_contradicting_outcome_is_kept_not_applied_and_answered_409(
    client: TestClient, db: Session
) -> None:
    stop, case = _done(client, db)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    late = signed(
        db, "CCB", outcome(stop, outcome="no_funds", amount_stopped="0.00"), webhook_id=webhook_id
    )
    answer = post(client, "CCB", late)
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["type"] == "/docs/problems/outcome-disputed"
    assert problem["title"] == "Outcome disputed"
    assert "stopped_full" in problem["detail"]
    assert "no_funds" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["data.outcome"]
    db.refresh(stop)
    assert (stop.outcome, stop.amount_stopped) == ("stopped_full", stop.amount_requested)
    [kept] = db.scalars(select(DisputedOutcome).where(DisputedOutcome.instruction_id == stop.id))
    assert (kept.webhook_id, kept.recorded_outcome, kept.reported_outcome) == (
        webhook_id,
        "stopped_full",
        "no_funds",
    )
    assert kept.recorded_amount_stopped == stop.amount_requested
    assert len(events(db, case, "callback.disputed")) == 1

    # The same event again: the same answer, one dispute on record, one audit event.
    again = post(client, "CCB", late)
    assert (again.status_code, again.json()["type"]) == (409, problem["type"])
    assert _disputes(db, stop) == 1
    assert len(events(db, case, "callback.disputed")) == 1


def test_another_amount_is_a_dispute_too(client: TestClient, db: Session) -> None:
    stop, _ = _done(client, db)
    partial = outcome(stop, outcome="stopped_partial", amount_stopped="10.00")
    assert post(client, "CCB", signed(db, "CCB", partial)).status_code == 409
    assert _disputes(db, stop) == 1


def test_the_same_outcome_again_stays_a_duplicate(client: TestClient, db: Session) -> None:
    stop, _ = _done(client, db)
    # The same outcome as a new event (a new webhook-id): nothing to dispute, nothing changes.
    same = post(client, "CCB", signed(db, "CCB", outcome(stop)))
    assert (same.status_code, same.json()) == (200, {"status": "duplicate"})
    assert _disputes(db, stop) == 0
    db.refresh(stop)
    assert stop.outcome == "stopped_full"


def test_an_outcome_for_an_expired_instruction_is_ignored_with_its_reason(
    client: TestClient, db: Session
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "5000.00"))
    [stop] = instructions(db, case)
    stop.state = "expired"
    db.flush()
    answer = post(client, "CCB", signed(db, "CCB", outcome(stop)))
    assert answer.json() == {"status": "ignored", "reason": "instruction_expired"}
    assert _disputes(db, stop) == 0


def test_supervisors_list_them_over_the_api_and_on_the_case_page(
    client: TestClient, db: Session
) -> None:
    stop, case = _done(client, db)
    post(client, "CCB", signed(db, "CCB", outcome(stop, outcome="no_funds", amount_stopped="0")))
    boss = supervisor_of(db, case)
    listed = client.get("/api/v1/institutions/CCB/disputed-outcomes", headers=boss)
    assert listed.status_code == 200, listed.text
    [row] = [r for r in listed.json() if r["instruction_id"] == stop.id]
    assert (row["institution_code"], row["recorded_outcome"], row["reported_outcome"]) == (
        "CCB",
        "stopped_full",
        "no_funds",
    )
    assert [d.id for d in list_disputes(db, case_id=case.id)] == [row["id"]]
    # Call-takers do not see them; an unknown institution is a 404.
    taker = bearer(db, make_user(db))
    assert (
        client.get("/api/v1/institutions/CCB/disputed-outcomes", headers=taker).status_code == 403
    )
    assert (
        client.get("/api/v1/institutions/NOPE/disputed-outcomes", headers=boss).status_code == 404
    )

    unit = db.get_one(Unit, case.unit_id)
    for language, title in (("en", "Disputed outcomes"), ("zh-CN", "争议结果")):
        sign_in(client, make_user(db, role=Role.supervisor, unit=unit, language=language))
        page = client.get(f"/dashboard/cases/{case.case_no}")
        assert page.status_code == 200
        assert 'id="disputed-outcomes"' in page.text
        assert title in page.text
        assert f'data-instruction="{stop.id}"' in page.text
