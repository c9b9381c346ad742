"""Attacks from outside on the edges of what arrives: ids past their column, NUL characters,
booleans that are numbers, personal data behind `cases:read`, secrets left in caches, and
registry names in the wrong language."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, Scope, Unit
from app.cases.models import Case, CaseAccount
from app.cases.reveal import REVEALED
from app.db import utcnow
from app.errors import PROBLEM_JSON
from app.institutions.models import Institution
from app.params import INT4_MAX, INT8_MAX
from tests.casework import instructions, make_case, report, supervisor_of
from tests.factories import PASSWORD, bearer, card_no, case_payload, fresh_card_no, make_user
from tests.intake.conftest import csrf_of, sign_in


def _refused(answer: Response, field: str, status: int = 422) -> dict[str, Any]:
    """A problem+json refusal that names `field`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = answer.json()
    assert field in [error["field"] for error in problem.get("errors", [])], problem
    return problem


def _events(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Event)) or 0


def test_an_id_past_its_columns_range_is_a_422_naming_it(client: TestClient, db: Session) -> None:
    admin = bearer(db, make_user(db, role=Role.admin))
    _refused(client.delete(f"/api/v1/admin/tokens/{INT4_MAX + 1}", headers=admin), "path.token_id")
    # The largest id the column holds is only a token that does not exist.
    assert client.delete(f"/api/v1/admin/tokens/{INT4_MAX}", headers=admin).status_code == 404
    case = make_case(db, (fresh_card_no("CCB"), "100.00"))
    boss = supervisor_of(db, case)
    url = f"/api/v1/cases/{case.case_no}/instructions/{INT8_MAX + 1}/resend"
    _refused(client.post(url, json={}, headers=boss), "path.instruction_id")
    url = f"/api/v1/cases/{case.case_no}/documents/{INT8_MAX + 1}"
    _refused(client.get(url, headers=boss), "path.document_id")


def test_an_account_id_past_its_column_reveals_nothing_and_records_nothing(
    client: TestClient, db: Session
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "100.00"))
    boss = _revealer(db, case)
    before = _events(db)
    url = f"/api/v1/cases/{case.case_no}/reveal"
    for account_id in (INT4_MAX + 1, 2**63, 0, -1):
        body = {"field": "account_no", "account_id": account_id}
        _refused(client.post(url, json=body, headers=boss), "account_id")
    assert _events(db) == before


def _stopped(client: TestClient, db: Session) -> tuple[Case, str]:
    card = fresh_card_no("CCB")
    case = make_case(db, (card, "5000.00"))
    [stop] = instructions(db, case)
    effective = utcnow().replace(microsecond=0) - dt.timedelta(minutes=10)
    report(client, db, stop, effective_at=effective.isoformat())
    return case, card


@pytest.mark.parametrize(
    ("what", "field"),
    [("releases", "reason"), ("renewals", "document_no"), ("freezes", "document_no")],
)
def test_a_nul_in_a_legal_action_is_a_422_naming_the_field_and_changes_nothing(
    client: TestClient, db: Session, what: str, field: str
) -> None:
    case, card = _stopped(client, db)
    boss = supervisor_of(db, case)
    before = (len(instructions(db, case)), _events(db))
    body = {"institution": "CCB", "account_no": card, field: "穗公\x00冻字"}
    answer = client.post(f"/api/v1/cases/{case.case_no}/{what}", json=body, headers=boss)
    problem = _refused(answer, field)
    assert "NUL" in problem["errors"][0]["message"]
    assert (len(instructions(db, case)), _events(db)) == before


def test_a_nul_is_named_in_a_query_a_form_and_deep_in_json(client: TestClient, db: Session) -> None:
    taker = bearer(db, make_user(db))
    query = client.get("/api/v1/cases", params={"account_no": "62\x00"}, headers=taker)
    _refused(query, "query.account_no")
    deep = case_payload(transfers=2)
    deep["transfers"][1]["to"]["holder_name"] = "刘\x00某"
    _refused(client.post("/api/v1/cases", json=deep, headers=taker), "transfers.1.to.holder_name")
    draft = {"fields": {"victim.name": "陈\x00"}}
    _refused(client.put("/api/v1/drafts/k1", json=draft, headers=taker), "fields.victim.name")
    page = client.get("/login")
    form = {"username": "a\x00", "password": "x", "csrf_token": csrf_of(page.text)}
    _refused(client.post("/login", data=form), "username")


def test_a_boolean_must_be_true_or_false(client: TestClient, db: Session) -> None:
    admin = bearer(db, make_user(db, role=Role.admin))
    user = make_user(db)
    for value in (0, 1, "false", "no"):
        body = {"is_active": value}
        url = f"/api/v1/admin/users/{user.username}"
        _refused(client.patch(url, json=body, headers=admin), "is_active")
        _refused(client.patch("/api/v1/institutions/CCB", json=body, headers=admin), "is_active")
    db.refresh(user)
    assert user.is_active
    ccb = db.scalars(select(Institution).where(Institution.code == "CCB")).one()
    assert ccb.is_active
    taker = bearer(db, make_user(db))
    payload = case_payload(victim={"name": "某公司", "is_enterprise": 1})
    _refused(client.post("/api/v1/cases", json=payload, headers=taker), "victim.is_enterprise")


def _revealer(db: Session, case: Case) -> dict[str, str]:
    boss = make_user(db, role=Role.supervisor, unit=db.get_one(Unit, case.unit_id))
    return bearer(db, boss, scopes=[Scope.cases_read, Scope.pii_reveal])


def test_a_cases_read_token_cannot_unmask_personal_data(client: TestClient, db: Session) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "100.00"))
    default = supervisor_of(db, case)  # every scope of the role but pii:reveal
    account_id = db.scalar(select(CaseAccount.account_id).where(CaseAccount.case_id == case.id))
    asks = [{"field": "victim.id_no"}, {"field": "account_no", "account_id": account_id}]
    for body in asks:
        answer = client.post(f"/api/v1/cases/{case.case_no}/reveal", json=body, headers=default)
        assert answer.status_code == 403, answer.text
        assert answer.json()["scope"] == "pii:reveal"
        assert 'scope="pii:reveal"' in answer.headers["www-authenticate"]
    page = client.post(
        f"/dashboard/cases/{case.case_no}/reveal",
        data={"field": "victim.id_no"},
        headers={**default, "accept": "application/json"},
    )
    assert page.status_code == 403
    assert "11010519491231002X" not in page.text
    assert db.scalars(select(Event).where(Event.kind == REVEALED)).all() == []
    # Named, the scope reveals (and is audited).
    answer = client.post(
        f"/api/v1/cases/{case.case_no}/reveal", json=asks[0], headers=_revealer(db, case)
    )
    assert answer.json()["value"] == "11010519491231002X"
    assert answer.headers["cache-control"] == "no-store"


def test_pii_reveal_is_never_given_unasked_and_never_to_a_call_taker(
    client: TestClient, db: Session
) -> None:
    boss = make_user(db, role=Role.supervisor)
    asked = {"username": boss.username, "password": PASSWORD}
    granted = client.post("/api/v1/auth/tokens", json=asked).json()["scopes"]
    assert "pii:reveal" not in granted
    assert "cases:read" in granted
    named = client.post("/api/v1/auth/tokens", json={**asked, "scopes": ["pii:reveal"]})
    assert named.json()["scopes"] == ["pii:reveal"]
    taker = make_user(db)
    body = {"username": taker.username, "password": PASSWORD, "scopes": ["pii:reveal"]}
    _refused(client.post("/api/v1/auth/tokens", json=body), "scopes")
    admin = bearer(db, make_user(db, role=Role.admin))
    body = {"name": "x", "scopes": ["cases:read", "pii:reveal"]}
    url = f"/api/v1/admin/users/{taker.username}/tokens"
    _refused(client.post(url, json=body, headers=admin), "scopes")


def test_answers_that_carry_a_secret_are_never_stored(client: TestClient, db: Session) -> None:
    boss = make_user(db, role=Role.supervisor)
    admin = bearer(db, make_user(db, role=Role.admin))
    answers = {
        "token": client.post(
            "/api/v1/auth/tokens", json={"username": boss.username, "password": PASSWORD}
        ),
        "admin token": client.post(
            f"/api/v1/admin/users/{boss.username}/tokens",
            json={"name": "n", "scopes": ["cases:read"]},
            headers=admin,
        ),
        "secret": client.post("/api/v1/institutions/CCB/secret-rotations", headers=admin),
    }
    page = client.get("/login")
    form = {"username": boss.username, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    answers["log-in"] = client.post("/login", data=form, follow_redirects=False)
    signed_in = sign_in(client, make_user(db, role=Role.admin))
    form = {"csrf_token": signed_in.csrf, "name": "n", "scopes": ["cases:read"]}
    answers["token page"] = client.post(f"/admin/users/{boss.username}/tokens", data=form)
    for what, answer in answers.items():
        assert answer.status_code in (200, 201, 303), (what, answer.text)
        assert answer.headers.get("cache-control") == "no-store", what


@pytest.mark.parametrize(
    ("language", "named", "not_named"),
    [
        ("en", "Agricultural Bank of China", "中国农业银行"),
        ("zh-CN", "中国农业银行", "Agricultural Bank of China"),
    ],
)
def test_a_card_at_another_bank_is_named_in_the_requests_language(
    client: TestClient, db: Session, language: str, named: str, not_named: str
) -> None:
    taker = {**bearer(db, make_user(db)), "accept-language": language}
    transfer = case_payload()["transfers"][0]
    transfer["to"] = {"institution": "CCB", "account_no": card_no("ABC", 7), "holder_name": "刘某"}
    platform = {**transfer, "to": {**transfer["to"], "institution": "NFPP"}}
    answer = client.post(
        "/api/v1/cases/validate", json=case_payload(transfers=[transfer]), headers=taker
    )
    message = _refused(answer, "transfers.0.to.account_no")["errors"][0]["message"]
    assert named in message, message
    assert not_named not in message, message
    answer = client.post(
        "/api/v1/cases/validate", json=case_payload(transfers=[platform]), headers=taker
    )
    message = _refused(answer, "transfers.0.to.institution")["errors"][0]["message"]
    platform_name = {"en": "National", "zh-CN": "国家反诈骗平台"}[language]
    assert platform_name in message, message
