"""POST /api/v1/cases/{case_no}/reveal: supervisors see one value in clear, and it is audited."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, Scope, Unit, UnitKind, User
from app.cases.models import Case, CaseAccount
from app.cases.reveal import REVEALED
from tests.factories import VICTIM_SERIAL, bearer, card_no, case_payload, make_unit, make_user

ID_NO = "11010519491231002X"  # case_payload's victim


def _case(client: TestClient, db: Session, unit: Unit, **changes: object) -> Case:
    taker = bearer(db, make_user(db, unit=unit))
    answer = client.post("/api/v1/cases", json=case_payload(**changes), headers=taker)
    assert answer.status_code == 201, answer.text
    return db.scalars(select(Case).where(Case.case_no == answer.json()["case_no"])).one()


def _revealer(db: Session, user: User) -> dict[str, str]:
    """A token that may reveal: `pii:reveal` is never in a token unless asked for."""
    return bearer(db, user, scopes=[Scope.cases_read, Scope.pii_reveal])


def _reveals(db: Session, case: Case) -> list[Event]:
    query = select(Event).where(Event.case_id == case.id, Event.kind == REVEALED)
    return list(db.scalars(query.order_by(Event.id)))


def test_a_supervisor_sees_the_id_number_and_the_reveal_is_audited_without_it(
    client: TestClient, db: Session
) -> None:
    unit = make_unit(db)
    case = _case(client, db, unit)
    boss = make_user(db, role=Role.supervisor, unit=unit)
    answer = client.post(
        f"/api/v1/cases/{case.case_no}/reveal",
        json={"field": "victim.id_no"},
        headers=_revealer(db, boss),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"field": "victim.id_no", "account_id": None, "value": ID_NO}
    assert answer.headers["cache-control"] == "no-store"
    [event] = _reveals(db, case)
    assert (event.actor_user_id, event.data) == (boss.id, {"field": "victim.id_no"})
    assert ID_NO not in json.dumps(event.data)
    # The case's own reading shows who looked, and still only the masked number.
    detail = client.get(f"/api/v1/cases/{case.case_no}", headers=_revealer(db, boss)).json()
    assert [(e["kind"], e["actor"]) for e in detail["events"]][-1] == (REVEALED, boss.username)
    assert ID_NO not in json.dumps(detail)


def test_the_phone_and_the_victims_own_account_are_revealed_by_account_id(
    client: TestClient, db: Session
) -> None:
    unit = make_unit(db)
    case = _case(client, db, unit)
    boss = _revealer(db, make_user(db, role=Role.admin, unit=unit))
    url = f"/api/v1/cases/{case.case_no}/reveal"
    phone = client.post(url, json={"field": "victim.phone"}, headers=boss)
    assert phone.json()["value"] == "+8613800138000"
    detail = client.get(f"/api/v1/cases/{case.case_no}", headers=boss).json()
    [victim_account] = detail["levels"][0]["accounts"]
    account_id = victim_account["account_id"]
    assert detail["transfers"][0]["from_account_id"] == account_id
    card = client.post(url, json={"field": "account_no", "account_id": account_id}, headers=boss)
    assert card.json() == {
        "field": "account_no",
        "account_id": account_id,
        "value": card_no("ICBC", VICTIM_SERIAL),
    }
    assert [e.data for e in _reveals(db, case)] == [
        {"field": "victim.phone"},
        {"field": "account_no", "account_id": account_id},
    ]


def test_a_call_taker_may_not_reveal(client: TestClient, db: Session) -> None:
    unit = make_unit(db)
    case = _case(client, db, unit)
    taker = bearer(db, make_user(db, role=Role.call_taker, unit=unit))
    answer = client.post(
        f"/api/v1/cases/{case.case_no}/reveal", json={"field": "victim.id_no"}, headers=taker
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert ID_NO not in answer.text
    assert _reveals(db, case) == []


def test_a_case_is_revealed_only_to_whom_it_is_visible(client: TestClient, db: Session) -> None:
    centre = make_unit(db)
    station = make_unit(db, kind=UnitKind.police_station)
    station.parent_id = centre.id
    db.flush()
    case = _case(client, db, station)
    url = f"/api/v1/cases/{case.case_no}/reveal"
    for unit, status in ((make_unit(db), 404), (centre, 200)):
        boss = _revealer(db, make_user(db, role=Role.supervisor, unit=unit))
        # The same rule as reading the case: another unit's case looks like a missing one.
        assert client.get(f"/api/v1/cases/{case.case_no}", headers=boss).status_code == status
        answer = client.post(url, json={"field": "victim.id_no"}, headers=boss)
        assert answer.status_code == status, answer.text
    assert len(_reveals(db, case)) == 1


def test_what_the_case_does_not_hold_is_not_revealed_nor_audited(
    client: TestClient, db: Session
) -> None:
    unit = make_unit(db)
    case = _case(client, db, unit, victim={"name": "匿名"})  # no ID number, no phone
    boss = _revealer(db, make_user(db, role=Role.supervisor, unit=unit))
    url = f"/api/v1/cases/{case.case_no}/reveal"
    assert client.post(url, json={"field": "victim.id_no"}, headers=boss).status_code == 404
    unnamed = client.post(url, json={"field": "account_no"}, headers=boss)
    assert unnamed.status_code == 422
    assert unnamed.json()["errors"][0]["field"] == "account_id"
    elsewhere = _case(client, db, make_unit(db))
    foreign_id = db.scalar(  # that case's mule account
        select(CaseAccount.account_id).where(
            CaseAccount.case_id == elsewhere.id, CaseAccount.level == 1
        )
    )
    foreign = client.post(url, json={"field": "account_no", "account_id": foreign_id}, headers=boss)
    assert foreign.status_code == 404, "an account of another case is not this case's to reveal"
    assert client.post(url, json={"field": "narrative"}, headers=boss).status_code == 422
    assert _reveals(db, case) == []
