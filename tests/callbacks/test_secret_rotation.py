"""Callback secrets rotate with a change-over; a disabled institution's callbacks are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role
from app.dispatch.models import Instruction
from app.institutions.models import Institution
from tests.callbacks.signing import outcome, post, signed
from tests.factories import bearer, instructions_of, make_case, make_user


def _stop(db: Session) -> tuple[Instruction, str]:
    case_no = make_case(db)
    stop = next(i for i in instructions_of(db, case_no) if i.kind == "stop_payment")
    code = db.scalar(select(Institution.code).where(Institution.id == stop.institution_id))
    assert code is not None
    return stop, code


def test_both_secrets_verify_during_a_rotation_and_only_the_new_one_after(
    client: TestClient, db: Session
) -> None:
    first, code = _stop(db)
    admin = bearer(db, make_user(db, role=Role.admin))
    old = db.scalar(select(Institution.callback_secret).where(Institution.code == code))
    rotated = client.post(f"/api/v1/institutions/{code}/secret-rotations", headers=admin)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["callback_secret"]
    assert new.startswith("whsec_")
    assert new != old
    # The bank has not switched yet: its old signature still verifies.
    applied = post(client, code, signed(db, code, outcome(first), secret=old))
    assert applied.json() == {"status": "applied"}, applied.text

    done = client.delete(f"/api/v1/institutions/{code}/previous-secret", headers=admin)
    assert done.status_code == 204
    stop, _ = _stop(db)
    stale = post(client, code, signed(db, code, outcome(stop), secret=old))
    assert stale.status_code == 401
    fresh = post(client, code, signed(db, code, outcome(stop), secret=new))
    assert fresh.json() == {"status": "applied"}
    kinds = db.scalars(select(Event.kind).where(Event.kind.like("institution.%"))).all()
    assert {"institution.secret_rotated", "institution.rotation_finished"} <= set(kinds)


def test_a_disabled_institution_is_refused_and_nothing_changes(
    client: TestClient, db: Session
) -> None:
    stop, code = _stop(db)
    admin = bearer(db, make_user(db, role=Role.admin))
    url = f"/api/v1/institutions/{code}"
    off = client.patch(url, json={"is_active": False}, headers=admin)
    assert off.json() == {"code": code, "is_active": False, "rotation_under_way": False}
    refused = post(client, code, signed(db, code, outcome(stop)))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    db.refresh(stop)
    assert stop.state == "pending"
    assert client.patch(url, json={"is_active": True}, headers=admin).status_code == 200
    assert post(client, code, signed(db, code, outcome(stop))).json() == {"status": "applied"}


def test_only_an_admin_rotates_or_disables(client: TestClient, db: Session) -> None:
    for role in (Role.call_taker, Role.supervisor):
        headers = bearer(db, make_user(db, role=role))
        assert (
            client.post("/api/v1/institutions/CCB/secret-rotations", headers=headers).status_code
            == 403
        )
        assert (
            client.patch(
                "/api/v1/institutions/CCB", json={"is_active": False}, headers=headers
            ).status_code
            == 403
        )
    admin = bearer(db, make_user(db, role=Role.admin))
    assert (
        client.post("/api/v1/institutions/NOPE/secret-rotations", headers=admin).status_code == 404
    )
