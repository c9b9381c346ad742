"""POST /api/v1/cases and reading cases back, through the HTTP API on the real database."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, UnitKind
from app.cases.models import Account, Case
from app.dispatch.models import Instruction, Outbox
from tests.factories import (
    bearer,
    card_no,
    case_payload,
    make_unit,
    make_user,
    transfer_payload,
)


def _headers(db: Session, role: Role = Role.call_taker, **extra: str) -> dict[str, str]:
    return {**bearer(db, make_user(db, role=role)), **extra}


def _count_cases(db: Session, victim_name: str) -> int:
    return db.scalar(select(func.count()).where(Case.victim_name == victim_name)) or 0


def test_a_report_is_stored_with_its_stop_payments(client: TestClient, db: Session) -> None:
    payload = case_payload(transfers=3)
    response = client.post("/api/v1/cases", json=payload, headers=_headers(db))
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"ZF-\d{8}-\d{6}", body["case_no"])
    assert response.headers["location"] == f"/api/v1/cases/{body['case_no']}"
    assert body["total_amount"] == "3000.00"

    stops = [i for i in body["instructions"] if i["kind"] == "stop_payment"]
    receiving = {t["to"]["account_no"] for t in payload["transfers"]}
    assert {i["account_no"] for i in stops} == receiving
    assert all(i["amount_requested"] == "1000.00" and i["state"] == "pending" for i in stops)
    [register] = [i for i in body["instructions"] if i["kind"] == "register"]
    assert register["institution"] == "NFPP"

    case = db.scalars(select(Case).where(Case.case_no == body["case_no"])).one()
    ids = set(db.scalars(select(Instruction.id).where(Instruction.case_id == case.id)))
    assert len(ids) == 4
    outbox = set(db.scalars(select(Outbox.instruction_id).where(Outbox.instruction_id.in_(ids))))
    assert outbox == ids, "every instruction has its outbox row"
    [created] = db.scalars(select(Event).where(Event.case_id == case.id)).all()
    assert created.kind == "case.created"
    assert set(created.data["instructions"]) == ids


def test_two_payments_to_one_account_get_one_stop_payment_for_the_sum(
    client: TestClient, db: Session
) -> None:
    target = {"account_no": card_no("ABC", 777)}
    payload = case_payload(
        transfers=[
            transfer_payload(to=target, amount="120000.00"),
            transfer_payload(to=target, amount="70000.50", minutes_ago=5),
        ]
    )
    body = client.post("/api/v1/cases", json=payload, headers=_headers(db)).json()
    [stop] = [i for i in body["instructions"] if i["kind"] == "stop_payment"]
    assert stop["amount_requested"] == "190000.50"


def test_scenario_7_a_mule_account_links_cases(client: TestClient, db: Session) -> None:
    mule = {"institution": "CCB", "account_no": card_no("CCB", 378_000)}
    first = client.post(
        "/api/v1/cases",
        json=case_payload(transfers=[transfer_payload(to=mule, amount="500.00", minutes_ago=3000)]),
        headers=_headers(db),
    ).json()
    assert first["priority"] == "low"
    spaced = {
        "institution": "CCB",
        "account_no": " ".join(re.findall(".{1,4}", mule["account_no"])),
    }
    second = client.post(
        "/api/v1/cases",
        json=case_payload(
            transfers=[transfer_payload(to=spaced, amount="500.00", minutes_ago=3000)]
        ),
        headers=_headers(db),
    ).json()
    [shared] = [a for a in second["accounts"] if a["level"] == 1]
    assert shared["shared_with"] == [first["case_no"]]
    assert second["priority"] == "high", "a known mule account raises the priority"
    norm = mule["account_no"]
    assert db.scalar(select(func.count()).where(Account.account_no_norm == norm)) == 1

    user_headers = _headers(db, Role.supervisor)
    detail = client.get(f"/api/v1/cases/{first['case_no']}", headers=user_headers)
    # A supervisor of another unit cannot see these cases at all...
    assert detail.status_code == 404


def test_scenario_7_both_cases_show_the_shared_account(client: TestClient, db: Session) -> None:
    headers = _headers(db)
    mule = {"institution": "CCB", "account_no": card_no("CCB", 378_001)}
    numbers = [
        client.post(
            "/api/v1/cases",
            json=case_payload(transfers=[transfer_payload(to=mule)]),
            headers=headers,
        ).json()["case_no"]
        for _ in range(2)
    ]
    for this, other in (numbers, numbers[::-1]):
        levels = client.get(f"/api/v1/cases/{this}", headers=headers).json()["levels"]
        [account] = levels[1]["accounts"]
        assert account["shared_with"] == [other]


def test_the_same_idempotency_key_and_body_is_one_case(client: TestClient, db: Session) -> None:
    headers = _headers(db, **{"Idempotency-Key": str(uuid.uuid4())})
    payload = case_payload(victim={"name": f"victim-{uuid.uuid4().hex[:8]}"})
    first = client.post("/api/v1/cases", json=payload, headers=headers)
    again = client.post("/api/v1/cases", json=payload, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert _count_cases(db, payload["victim"]["name"]) == 1


def test_the_same_key_with_another_body_is_refused(client: TestClient, db: Session) -> None:
    headers = _headers(db, **{"Idempotency-Key": "key-1", "Accept-Language": "en"})
    assert client.post("/api/v1/cases", json=case_payload(), headers=headers).status_code == 201
    other = case_payload(narrative="a different report")
    response = client.post("/api/v1/cases", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_without_a_key_a_resubmission_is_a_second_case(client: TestClient, db: Session) -> None:
    headers = _headers(db)
    payload = case_payload(victim={"name": f"victim-{uuid.uuid4().hex[:8]}"})
    client.post("/api/v1/cases", json=payload, headers=headers)
    client.post("/api/v1/cases", json=payload, headers=headers)
    assert _count_cases(db, payload["victim"]["name"]) == 2


def _problem(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_bad_input_names_the_field_in_the_callers_language(client: TestClient, db: Session) -> None:
    payload = case_payload()
    payload["victim"]["id_no"] = "110105194912310021"
    payload["transfers"][0]["amount"] = "12.345"
    zh = _problem(
        client.post(
            "/api/v1/cases", json=payload, headers=_headers(db, **{"Accept-Language": "zh-CN"})
        )
    )
    assert zh == {"transfers.0.amount": "最多 2 位小数"}, "structure errors come first"
    payload["transfers"][0]["amount"] = "100.00"
    en = _problem(
        client.post(
            "/api/v1/cases", json=payload, headers=_headers(db, **{"Accept-Language": "en"})
        )
    )
    assert en == {
        "victim.id_no": "Not a valid resident ID number (check digit or birth date is wrong)"
    }


def test_structural_errors(client: TestClient, db: Session) -> None:
    headers = _headers(db, **{"Accept-Language": "en"})
    payload = case_payload(surprise="field")
    payload["transfers"][0]["amount"] = "-5"
    payload["narrative"] = "x" * 20001
    errors = _problem(client.post("/api/v1/cases", json=payload, headers=headers))
    assert errors == {
        "surprise": "Unknown field",
        "transfers.0.amount": "Must be greater than 0",
        "narrative": "At most 20000 characters",
    }
    too_many = case_payload(transfers=[transfer_payload(to_serial=i) for i in range(201)])
    assert _problem(client.post("/api/v1/cases", json=too_many, headers=headers)) == {
        "transfers": "At most 200 items"
    }
    none = case_payload(transfers=[])
    assert _problem(client.post("/api/v1/cases", json=none, headers=headers)) == {
        "transfers": "At least 1 item(s)"
    }
    huge = case_payload(transfers=[transfer_payload(amount="100000000.01")])
    assert "transfers.0.amount" in _problem(
        client.post("/api/v1/cases", json=huge, headers=headers)
    )


def test_nothing_is_stored_for_a_rejected_report(client: TestClient, db: Session) -> None:
    name = f"victim-{uuid.uuid4().hex[:8]}"
    payload = case_payload(victim={"name": name, "phone": "1"})
    assert client.post("/api/v1/cases", json=payload, headers=_headers(db)).status_code == 422
    assert _count_cases(db, name) == 0
    number = payload["transfers"][0]["to"]["account_no"]
    assert db.scalar(select(func.count()).where(Account.account_no == number)) == 0


def test_text_is_stored_verbatim(client: TestClient, db: Session) -> None:
    tricky = 'O\'Brien "引号" <script>alert(1)</script>; DROP TABLE case;-- 🚨\n第二行'
    payload = case_payload(
        narrative=tricky,
        victim={"name": tricky[:100]},
        contacts=[{"kind": "other", "value": tricky}],
    )
    headers = _headers(db)
    case_no = client.post("/api/v1/cases", json=payload, headers=headers).json()["case_no"]
    detail = client.get(f"/api/v1/cases/{case_no}", headers=headers).json()
    assert detail["narrative"] == tricky
    assert detail["victim"]["name"] == tricky[:100]
    assert detail["contacts"] == [{"kind": "other", "value": tricky}]


def test_only_call_takers_and_supervisors_report_cases(client: TestClient, db: Session) -> None:
    for role, status in ((Role.admin, 403), (Role.supervisor, 201), (Role.call_taker, 201)):
        response = client.post("/api/v1/cases", json=case_payload(), headers=_headers(db, role))
        assert response.status_code == status, role


def test_a_case_shows_accounts_by_level_transfers_instructions_and_events(
    client: TestClient, db: Session
) -> None:
    headers = _headers(db)
    level1 = {"account_no": card_no("CCB", 4001), "holder_name": "刘某"}
    level2 = {"account_no": card_no("CMB", 4002)}
    payload = case_payload(
        transfers=[
            transfer_payload(to=level1, amount="350000.00"),
            transfer_payload(from_=level1, to=level2, amount="210000.00", minutes_ago=5),
        ]
    )
    case_no = client.post("/api/v1/cases", json=payload, headers=headers).json()["case_no"]
    detail = client.get(f"/api/v1/cases/{case_no}", headers=headers).json()
    assert [lvl["level"] for lvl in detail["levels"]] == [0, 1, 2]
    assert detail["levels"][2]["accounts"][0]["institution"] == "CMB"
    assert len(detail["transfers"]) == 2
    stops = {i["account_no"]: i for i in detail["instructions"] if i["kind"] == "stop_payment"}
    assert stops[level1["account_no"]]["amount_requested"] == "350000.00"
    assert stops[level2["account_no"]]["amount_requested"] == "210000.00"
    instruction = stops[level2["account_no"]]
    assert instruction["created_at"] is not None
    assert instruction["dispatch_delay_ms"] is None  # not sent yet
    assert [e["kind"] for e in detail["events"]] == ["case.created"]
    assert detail["total_amount"] == "350000.00"
    assert detail["priority"] == "special"


def test_units_see_their_own_cases_and_those_below(client: TestClient, db: Session) -> None:
    centre = make_unit(db)
    station = make_unit(db, kind=UnitKind.police_station)
    station.parent_id = centre.id
    other = make_unit(db)
    db.flush()
    taker = bearer(db, make_user(db, unit=station))
    case_no = client.post("/api/v1/cases", json=case_payload(), headers=taker).json()["case_no"]
    above = bearer(db, make_user(db, role=Role.supervisor, unit=centre))
    beside = bearer(db, make_user(db, role=Role.supervisor, unit=other))
    assert client.get(f"/api/v1/cases/{case_no}", headers=above).status_code == 200
    assert client.get(f"/api/v1/cases/{case_no}", headers=beside).status_code == 404
    assert client.get("/api/v1/cases", headers=beside).json()["total"] == 0


def test_list_filters_and_pages(client: TestClient, db: Session) -> None:
    unit = make_unit(db)
    headers = bearer(db, make_user(db, unit=unit))
    mule = card_no("ABC", 5150)
    big = case_payload(
        fraud_type="brushing_rebate",
        transfers=[transfer_payload(to={"account_no": mule}, amount="1200000.00")],
    )
    created = [client.post("/api/v1/cases", json=big, headers=headers).json()["case_no"]]
    created += [
        client.post("/api/v1/cases", json=case_payload(), headers=headers).json()["case_no"]
        for _ in range(3)
    ]

    def numbers(**params: object) -> list[str]:
        answer = client.get("/api/v1/cases", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [c["case_no"] for c in answer.json()["items"]]

    assert sorted(numbers()) == sorted(created)
    assert numbers(priority="special") == created[:1]
    assert numbers(fraud_type="brushing_rebate") == created[:1]
    assert numbers(account_no=" ".join(re.findall(".{1,4}", mule))) == created[:1]
    assert numbers(status="stopped") == []
    assert sorted(numbers(status="stopping")) == sorted(created)
    assert numbers(received_to="2000-01-01T00:00:00Z") == []
    page = client.get("/api/v1/cases", params={"page_size": 3, "page": 2}, headers=headers)
    assert page.json()["total"] == 4
    assert len(page.json()["items"]) == 1


def test_validate_checks_without_storing(client: TestClient, db: Session) -> None:
    headers = _headers(db, **{"Accept-Language": "zh-CN"})
    name = f"victim-{uuid.uuid4().hex[:8]}"
    ok = client.post(
        "/api/v1/cases/validate", json=case_payload(victim={"name": name}), headers=headers
    )
    assert ok.status_code == 200
    assert ok.json() == {"valid": True, "priority": "medium"}
    bad = case_payload(victim={"name": name, "id_no": "123"})
    errors = _problem(client.post("/api/v1/cases/validate", json=bad, headers=headers))
    assert errors == {"victim.id_no": "不是有效的居民身份证号码（校验位或出生日期不对）"}
    assert _count_cases(db, name) == 0


def test_unknown_case_is_a_404_problem(client: TestClient, db: Session) -> None:
    response = client.get("/api/v1/cases/ZF-20000101-000001", headers=_headers(db))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_amounts_are_exact_decimals(client: TestClient, db: Session) -> None:
    payload = case_payload(
        transfers=[transfer_payload(amount="0.10"), transfer_payload(to_serial=9, amount="0.20")]
    )
    body = client.post("/api/v1/cases", json=payload, headers=_headers(db)).json()
    assert Decimal(body["total_amount"]) == Decimal("0.30")
