"""Callbacks signed as a real bank signs them (the standardwebhooks library), applied once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.cases.models import Case
from app.dispatch.models import Instruction
from tests.callbacks.signing import outcome as _outcome
from tests.callbacks.signing import post as _post
from tests.callbacks.signing import signed as _signed
from tests.factories import institution, instructions_of, make_case


def _stop(db: Session) -> Instruction:
    case_no = make_case(db)
    return next(i for i in instructions_of(db, case_no) if i.kind == "stop_payment")


def test_a_signed_outcome_completes_the_instruction(client: TestClient, db: Session) -> None:
    stop = _stop(db)
    code = institution_code(db, stop)
    response = _post(client, code, _signed(db, code, _outcome(stop)))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "applied"}
    db.refresh(stop)
    assert (stop.state, stop.outcome) == ("done", "stopped_full")
    assert stop.amount_stopped == stop.amount_requested
    assert stop.completed_at is not None
    assert stop.acked_at is not None
    assert stop.expires_at is not None
    assert stop.effective_at is not None
    assert stop.expires_at - stop.effective_at == dt.timedelta(hours=48)


def test_the_case_status_rolls_up(client: TestClient, db: Session) -> None:
    case_no = make_case(db, transfers=2)
    stops = [i for i in instructions_of(db, case_no) if i.kind == "stop_payment"]
    first, second = stops
    _post(
        client,
        institution_code(db, first),
        _signed(db, institution_code(db, first), _outcome(first)),
    )
    case = db.scalars(select(Case).where(Case.case_no == case_no)).one()
    db.refresh(case)
    assert case.status == "stopping"
    partial = _outcome(second, outcome="no_funds", amount_stopped="0.00", balance="0.00")
    _post(client, institution_code(db, second), _signed(db, institution_code(db, second), partial))
    db.refresh(case)
    assert case.status == "partly_stopped"


def test_a_repeated_webhook_id_changes_nothing(client: TestClient, db: Session) -> None:
    stop = _stop(db)
    code = institution_code(db, stop)
    signed = _signed(db, code, _outcome(stop, amount_stopped="10.00", outcome="stopped_partial"))
    assert _post(client, code, signed).json() == {"status": "applied"}
    again = _post(client, code, signed)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    done_events = db.scalars(
        select(Event).where(Event.instruction_id == stop.id, Event.kind == "instruction.done")
    ).all()
    assert len(done_events) == 1


def test_a_late_different_callback_does_not_move_a_finished_instruction(
    client: TestClient, db: Session
) -> None:
    stop = _stop(db)
    code = institution_code(db, stop)
    _post(client, code, _signed(db, code, _outcome(stop)))
    late = _post(
        client, code, _signed(db, code, _outcome(stop, outcome="no_funds", amount_stopped="0.00"))
    )
    # Not applied, and not silent: docs/institution-protocol.md, `outcome-disputed`.
    assert late.status_code == 409
    assert late.json()["type"] == "/docs/problems/outcome-disputed"
    db.refresh(stop)
    assert stop.outcome == "stopped_full"
    assert stop.amount_stopped == stop.amount_requested


def test_an_outcome_before_the_ack_is_recorded_and_the_ack_then_only_fills_times(
    client: TestClient, db: Session
) -> None:
    from app.dispatch.transitions import record_ack

    stop = _stop(db)
    code = institution_code(db, stop)
    _post(client, code, _signed(db, code, _outcome(stop)))
    record_ack(db, instruction_id=stop.id, reference="SIM-1", now=dt.datetime.now(dt.UTC))
    db.refresh(stop)
    assert stop.state == "done"


def test_forged_signature_stale_timestamp_and_wrong_secret_are_401(
    client: TestClient, db: Session
) -> None:
    stop = _stop(db)
    code = institution_code(db, stop)
    body, headers = _signed(db, code, _outcome(stop))
    forged = {**headers, "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    assert client.post(f"/api/v1/callbacks/{code}", content=body, headers=forged).status_code == 401
    tampered = body.replace(b"stopped_full", b"stopped_partial")
    assert (
        client.post(f"/api/v1/callbacks/{code}", content=tampered, headers=headers).status_code
        == 401
    )
    for minutes in (-6, 6):
        at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        assert _post(client, code, _signed(db, code, _outcome(stop), at=at)).status_code == 401
    other_secret = institution(db, "ALIPAY").callback_secret
    assert (
        _post(client, code, _signed(db, code, _outcome(stop), secret=other_secret)).status_code
        == 401
    )
    db.refresh(stop)
    assert stop.state == "pending"


def test_unknown_institution_is_404(client: TestClient, db: Session) -> None:
    body, headers = _signed(db, "ICBC", {"idempotency_key": "x", "outcome": "stopped_full"})
    assert client.post("/api/v1/callbacks/NOPE", content=body, headers=headers).status_code == 404


def test_a_bank_cannot_complete_another_banks_instruction(client: TestClient, db: Session) -> None:
    stop = _stop(db)
    intruder = "ALIPAY" if institution_code(db, stop) != "ALIPAY" else "TENPAY"
    response = _post(client, intruder, _signed(db, intruder, _outcome(stop)))
    assert response.status_code == 409
    db.refresh(stop)
    assert stop.state == "pending"


def test_a_mismatch_names_the_field(client: TestClient, db: Session) -> None:
    stop = _stop(db)
    code = institution_code(db, stop)
    mismatch = _outcome(stop, outcome="mismatch", amount_stopped=None, mismatch_field="holder_name")
    _post(client, code, _signed(db, code, mismatch))
    db.refresh(stop)
    assert (stop.outcome, stop.mismatch_field, stop.expires_at) == ("mismatch", "holder_name", None)


def test_a_malformed_but_signed_body_is_422(client: TestClient, db: Session) -> None:
    stop = _stop(db)
    code = institution_code(db, stop)
    bad = _outcome(stop, outcome="vanished", amount_stopped="-1")
    response = _post(client, code, _signed(db, code, bad))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} >= {"data.outcome"}
    assert Decimal(str(stop.amount_requested)) > 0


def institution_code(db: Session, instruction: Instruction) -> str:
    from app.institutions.models import Institution

    return db.get_one(Institution, instruction.institution_id).code


def test_a_mismatch_is_corrected_and_resent_in_one_step(client: TestClient, db: Session) -> None:
    from tests.factories import bearer, make_user

    taker = make_user(db)
    headers = bearer(db, taker)
    case_no = make_case(db, user=taker)
    stop = next(i for i in instructions_of(db, case_no) if i.kind == "stop_payment")
    code = institution_code(db, stop)
    url = f"/api/v1/cases/{case_no}/instructions/{stop.id}/resend"
    assert client.post(url, json={"holder_name": "刘某某"}, headers=headers).status_code == 409

    mismatch = _outcome(stop, outcome="mismatch", amount_stopped=None, mismatch_field="holder_name")
    _post(client, code, _signed(db, code, mismatch))
    response = client.post(url, json={"holder_name": "刘某某"}, headers=headers)
    assert response.status_code == 201, response.text
    resent = db.get_one(Instruction, response.json()["id"])
    assert (resent.state, resent.parent_id, resent.holder_name) == ("pending", stop.id, "刘某某")
    assert resent.idempotency_key != stop.idempotency_key
    assert resent.amount_requested == stop.amount_requested
    case = db.scalars(select(Case).where(Case.case_no == case_no)).one()
    db.refresh(case)
    assert case.status == "stopping"
    other_case = make_case(db, user=taker)
    elsewhere = f"/api/v1/cases/{other_case}/instructions/{stop.id}/resend"
    assert client.post(elsewhere, json={}, headers=headers).status_code == 404
