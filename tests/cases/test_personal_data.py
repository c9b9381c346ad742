"""Personal numbers leave the service masked: case answers, read-backs, exports, the
dashboard's escalations, errors and logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.cases.models import IdempotencyKey
from app.db import utcnow
from app.dispatch.models import Instruction, InstructionState
from tests.factories import (
    VICTIM_SERIAL,
    bearer,
    card_no,
    case_payload,
    fresh_card_no,
    make_unit,
    make_user,
    transfer_payload,
)

ID_NO = "11010519491231002X"  # case_payload's victim
PHONE = "13800138000"
VICTIM_CARD = card_no("ICBC", VICTIM_SERIAL)
MASKED_ID_NO = "1101**********002X"
MASKED_PHONE = "+86 138****8000"
MASKED_CARD = VICTIM_CARD[:4] + "*" * 11 + VICTIM_CARD[-4:]
CLEAR = (ID_NO, PHONE, VICTIM_CARD)


def _shows_nothing_clear(text: str) -> None:
    for value in CLEAR:
        assert value not in text, f"{value} is shown in clear"


def test_every_case_answer_masks_the_victims_numbers_and_shows_the_mule_accounts(
    client: TestClient, db: Session
) -> None:
    headers = bearer(db, make_user(db, role=Role.call_taker))
    mule = fresh_card_no("CCB")
    payload = case_payload(transfers=[transfer_payload(to={"account_no": mule})])

    created = client.post(
        "/api/v1/cases", json=payload, headers={**headers, "Idempotency-Key": "mask-1"}
    )
    assert created.status_code == 201, created.text
    _shows_nothing_clear(created.text)
    victim, suspect = created.json()["accounts"]
    assert (victim["role"], victim["account_no"]) == ("victim", MASKED_CARD)
    assert (suspect["role"], suspect["account_no"]) == ("suspect", mule)
    replayed = client.post(
        "/api/v1/cases", json=payload, headers={**headers, "Idempotency-Key": "mask-1"}
    )
    assert replayed.headers["idempotent-replayed"] == "true"
    _shows_nothing_clear(replayed.text)
    kept = db.scalars(select(IdempotencyKey.response_body).where(IdempotencyKey.key == "mask-1"))
    _shows_nothing_clear(json.dumps(kept.one()))

    case_no = created.json()["case_no"]
    detail = client.get(f"/api/v1/cases/{case_no}", headers=headers)
    _shows_nothing_clear(detail.text)
    body = detail.json()
    assert (body["victim"]["id_no"], body["victim"]["phone"]) == (MASKED_ID_NO, MASKED_PHONE)
    [transfer] = body["transfers"]
    assert (transfer["from_account_no"], transfer["to_account_no"]) == (MASKED_CARD, mule)
    assert [i["account_no"] for i in body["instructions"] if i["kind"] == "stop_payment"] == [mule]
    listed = client.get("/api/v1/cases", params={"account_no": mule}, headers=headers)
    assert [c["case_no"] for c in listed.json()["items"]] == [case_no]
    _shows_nothing_clear(listed.text)


def test_an_instruction_about_the_victims_own_account_reads_back_masked(
    client: TestClient, db: Session
) -> None:
    unit = make_unit(db)
    taker = bearer(db, make_user(db, unit=unit))
    case_no = client.post("/api/v1/cases", json=case_payload(), headers=taker).json()["case_no"]
    boss = bearer(db, make_user(db, role=Role.supervisor, unit=unit))
    # The supervisor revealed the number, and asks the victim's bank about the account.
    asked = client.post(
        f"/api/v1/cases/{case_no}/queries",
        headers=boss,
        json={"institution": "ICBC", "account_no": VICTIM_CARD},
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["account_no"] == MASKED_CARD
    detail = client.get(f"/api/v1/cases/{case_no}", headers=boss)
    [query] = [i for i in detail.json()["instructions"] if i["kind"] == "query"]
    assert query["account_no"] == MASKED_CARD
    exported = client.get(f"/api/v1/cases/{case_no}/export.csv", headers=boss)
    assert exported.status_code == 200
    assert MASKED_CARD in exported.text
    _shows_nothing_clear(exported.text)
    stuck = db.get_one(Instruction, query["id"])
    stuck.state, stuck.escalated_at = InstructionState.escalated.value, utcnow()
    db.flush()
    escalated = client.get("/api/v1/dashboard/escalations", headers=boss).json()
    assert [e["account_no"] for e in escalated if e["instruction_id"] == stuck.id] == [MASKED_CARD]


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/cases/validate"])
def test_a_refused_id_or_card_number_is_not_echoed_in_the_problem(
    client: TestClient, db: Session, path: str
) -> None:
    headers = bearer(db, make_user(db))
    bad_id = "110105194912310021"  # wrong check digit
    bad_card = VICTIM_CARD[:-1] + str((int(VICTIM_CARD[-1]) + 1) % 10)  # wrong Luhn digit
    long_id = "3502" * 9  # longer than any ID: refused by the schema itself
    payload = case_payload(
        victim={"name": "陈女士", "id_no": bad_id},
        transfers=[transfer_payload(from_={"institution": "ICBC", "account_no": bad_card})],
    )
    for body in (payload, case_payload(victim={"name": "陈女士", "id_no": long_id})):
        for language in ("en", "zh-CN"):
            answer = client.post(path, json=body, headers={**headers, "Accept-Language": language})
            assert answer.status_code == 422, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            for value in (bad_id, bad_card, long_id):
                assert value not in answer.text
    fields = {e["field"] for e in answer.json()["errors"]}
    assert fields == {"victim.id_no"}


def test_an_intake_logs_no_personal_number(
    client: TestClient, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = bearer(db, make_user(db))
    created = client.post("/api/v1/cases", json=case_payload(), headers=headers)
    assert created.status_code == 201
    client.get(f"/api/v1/cases/{created.json()['case_no']}", headers=headers)
    client.post(
        "/api/v1/cases",
        json=case_payload(victim={"name": "x", "id_no": ID_NO[:-1]}),
        headers=headers,
    )
    _shows_nothing_clear(caplog.text)
    assert ID_NO[:-1] not in caplog.text
