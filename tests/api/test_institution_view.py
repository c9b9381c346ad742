"""An institution's own view over the API: its own data only, and rotating its own secret."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, Scope
from app.dispatch.models import Instruction
from app.institutions.models import Institution
from tests.callbacks.signing import outcome, post, signed
from tests.factories import bearer, institution, instructions_of, make_case, make_user

ME = "/api/v1/institution/me"


def _stop(db: Session) -> tuple[Instruction, str]:
    """A fresh case's stop-payment (ICBC: the first bank of the factories' transfers)."""
    stop = next(i for i in instructions_of(db, make_case(db)) if i.kind == "stop_payment")
    code = db.scalar(select(Institution.code).where(Institution.id == stop.institution_id))
    assert code is not None
    return stop, code


def _user_of(db: Session, code: str, *scopes: Scope) -> dict[str, str]:
    user = make_user(db, role=Role.institution, institution_code=code)
    return bearer(db, user, scopes=scopes or None)


def _other(code: str) -> str:
    return "CCB" if code != "CCB" else "ICBC"


def test_an_institution_sees_its_open_instructions_outcomes_and_refusals_and_nobody_elses(
    client: TestClient, db: Session
) -> None:
    stop, code = _stop(db)
    done, _ = _stop(db)
    refused_stop, _ = _stop(db)
    mine, theirs = _user_of(db, code), _user_of(db, _other(code))
    assert post(client, code, signed(db, code, outcome(done))).json() == {"status": "applied"}
    too_much = outcome(refused_stop, amount_stopped="99999999.00", balance="99999999.00")
    assert post(client, code, signed(db, code, too_much)).status_code == 422

    open_keys = [
        i["idempotency_key"] for i in client.get(f"{ME}/instructions", headers=mine).json()
    ]
    assert stop.idempotency_key in open_keys
    assert done.idempotency_key not in open_keys
    first = client.get(f"{ME}/instructions", headers=mine).json()[0]
    assert {"age_s", "due_at", "over_sla"} <= set(first)

    outcomes = client.get(f"{ME}/outcomes", headers=mine).json()
    assert [o["outcome"] for o in outcomes if o["idempotency_key"] == done.idempotency_key] == [
        "stopped_full"
    ]
    [refusal] = [
        r
        for r in client.get(f"{ME}/refused-callbacks", headers=mine).json()
        if r["idempotency_key"] == refused_stop.idempotency_key
    ]
    assert refusal["reasons"][0]["field"].startswith("data.")
    assert refusal["reasons"][0]["message"]

    # Another institution's user sees none of it.
    for path in ("instructions", "outcomes", "refused-callbacks", "deliveries"):
        keys = {r["idempotency_key"] for r in client.get(f"{ME}/{path}", headers=theirs).json()}
        assert not keys & {stop.idempotency_key, done.idempotency_key, refused_stop.idempotency_key}
    assert client.get(ME, headers=theirs).json()["code"] == _other(code)


def test_its_scorecard_is_the_one_the_dashboard_shows_for_it(
    client: TestClient, db: Session
) -> None:
    done, code = _stop(db)
    post(client, code, signed(db, code, outcome(done)))
    supervisor = bearer(db, make_user(db, role=Role.supervisor))
    registry = client.get("/api/v1/institutions", headers=supervisor).json()
    [theirs] = [row for row in registry if row["code"] == code]
    mine = client.get(ME, headers=_user_of(db, code)).json()
    assert mine["stats"] == theirs["stats"]
    assert mine["refused_callbacks"] == theirs["refused_callbacks"]
    assert mine["sla_s"] == theirs["sla_s"]


def test_its_deliveries_say_what_we_answered(client: TestClient, db: Session) -> None:
    applied, code = _stop(db)
    late, _ = _stop(db)
    bad, _ = _stop(db)
    first = signed(db, code, outcome(applied), webhook_id="msg_view_applied")
    post(client, code, first)
    assert post(client, code, first).json() == {"status": "duplicate"}
    post(client, code, signed(db, code, outcome(late), webhook_id="msg_view_late_1"))
    again = post(client, code, signed(db, code, outcome(late), webhook_id="msg_view_late_2"))
    # The same outcome again under another webhook-id changes nothing either.
    assert again.json() == {"status": "duplicate"}
    wrong = outcome(bad, amount_stopped="99999999.00", balance="99999999.00")
    post(client, code, signed(db, code, wrong, webhook_id="msg_view_refused"))

    answers = client.get(f"{ME}/deliveries", headers=_user_of(db, code)).json()
    by_id = {d["webhook_id"]: d for d in answers}
    assert by_id["msg_view_applied"]["answer"] == "applied"
    assert by_id["msg_view_applied"]["repeats"] == 1
    assert by_id["msg_view_late_1"]["answer"] == "applied"
    assert by_id["msg_view_late_2"]["answer"] == "duplicate"
    assert by_id["msg_view_refused"]["answer"] == "refused"
    assert by_id["msg_view_refused"]["reasons"]
    times = [d["received_at"] for d in answers]
    assert times == sorted(times, reverse=True)
    assert len(answers) <= 200


def test_an_institution_user_reaches_no_other_institution_nor_anything_else(
    client: TestClient, db: Session
) -> None:
    _, code = _stop(db)
    mine = _user_of(db, code, Scope.institution_read, Scope.institution_rotate)
    other = _other(code)
    refused = [
        client.get("/api/v1/institutions", headers=mine),
        client.get("/api/v1/cases", headers=mine),
        client.get("/api/v1/dashboard/overview", headers=mine),
        client.post(f"/api/v1/institutions/{other}/secret-rotations", headers=mine),
        client.patch(f"/api/v1/institutions/{other}", json={"is_active": False}, headers=mine),
        client.get("/api/v1/admin/users", headers=mine),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    # Nor can staff read an institution's own view.
    for role in (Role.call_taker, Role.supervisor, Role.admin):
        staff = bearer(db, make_user(db, role=role))
        assert client.get(ME, headers=staff).status_code == 403


def test_rotating_its_secret_shows_it_once_keeps_the_old_one_for_the_overlap_and_is_audited(
    client: TestClient, db: Session
) -> None:
    first, code = _stop(db)
    old = institution(db, code).callback_secret
    other_before = institution(db, _other(code)).callback_secret
    # A read token cannot rotate: the scope is given only when asked for by name.
    reader = _user_of(db, code)
    denied = client.post(f"{ME}/secret-rotations", headers=reader)
    assert denied.status_code == 403
    assert "institution:rotate" in denied.headers["www-authenticate"]

    rotator = _user_of(db, code, Scope.institution_rotate)
    before = dt.datetime.now(dt.UTC)
    rotated = client.post(f"{ME}/secret-rotations", headers=rotator)
    assert rotated.status_code == 201, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    new = rotated.json()["callback_secret"]
    assert new.startswith("whsec_")
    assert new != old
    until = dt.datetime.fromisoformat(rotated.json()["previous_valid_until"])
    assert dt.timedelta(hours=23, minutes=59) < until - before <= dt.timedelta(hours=24, minutes=1)
    assert institution(db, _other(code)).callback_secret == other_before

    # Shown once: nothing of it is read back afterwards.
    me = client.get(ME, headers=reader)
    assert new not in me.text
    assert me.json()["rotation_under_way"] is True
    assert me.json()["secret_overlap_s"] == 24 * 3600

    # Within the overlap the old secret still verifies; the new one too.
    ok = post(client, code, signed(db, code, outcome(first), secret=old))
    assert ok.json() == {"status": "applied"}
    # Once the overlap has passed, the old one is refused and the new one is not.
    institution(db, code).callback_secret_previous_until = dt.datetime.now(dt.UTC)
    db.flush()
    stop, _ = _stop(db)
    assert post(client, code, signed(db, code, outcome(stop), secret=old)).status_code == 401
    fresh = post(client, code, signed(db, code, outcome(stop), secret=new))
    assert fresh.json() == {"status": "applied"}

    [event] = db.scalars(
        select(Event).where(
            Event.kind == "institution.secret_rotated",
            Event.institution_id == institution(db, code).id,
        )
    )
    assert event.actor_user_id is not None
    assert event.data["by"] == "institution"
    assert new not in str(event.data)
    assert old not in str(event.data)


def test_its_disputed_outcomes_are_its_own_to_see(client: TestClient, db: Session) -> None:
    done, code = _stop(db)
    post(client, code, signed(db, code, outcome(done)))
    late = outcome(done, outcome="no_funds", amount_stopped="0.00")
    assert post(client, code, signed(db, code, late)).status_code == 409

    [mine] = client.get(f"{ME}/disputed-outcomes", headers=_user_of(db, code)).json()
    assert (mine["instruction_id"], mine["recorded_outcome"], mine["reported_outcome"]) == (
        done.id,
        "stopped_full",
        "no_funds",
    )
    theirs = client.get(f"{ME}/disputed-outcomes", headers=_user_of(db, _other(code))).json()
    assert done.id not in {d["instruction_id"] for d in theirs}
