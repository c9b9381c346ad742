"""A bearer token does only what its scopes allow; people in the browser are unaffected."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role, Scope
from app.cases.models import Case
from app.errors import PROBLEM_JSON
from tests.factories import PASSWORD, bearer, case_payload, make_case, make_user
from tests.intake.conftest import sign_in


def _cases(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Case)) or 0


def test_a_read_only_token_lists_cases_but_cannot_report_one(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, role=Role.call_taker)
    case_no = make_case(db, user=user)
    reader = bearer(db, user, scopes=[Scope.cases_read])
    listed = client.get("/api/v1/cases", headers=reader)
    assert listed.status_code == 200
    assert [c["case_no"] for c in listed.json()["items"]] == [case_no]
    assert client.get(f"/api/v1/cases/{case_no}", headers=reader).status_code == 200

    before = _cases(db)
    refused = client.post("/api/v1/cases", json=case_payload(), headers=reader)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["scope"] == "cases:write"
    assert refused.json()["detail"] == "This token lacks the scope cases:write"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    in_chinese = client.post(
        "/api/v1/cases/validate",
        json=case_payload(),
        headers={**reader, "accept-language": "zh-CN"},
    )
    assert in_chinese.json()["detail"] == "此令牌没有权限范围 cases:write，不能执行此操作"
    assert _cases(db) == before
    # The same user with a token that has the scope reports the case.
    writer = bearer(db, user, scopes=[Scope.cases_write])
    assert client.post("/api/v1/cases", json=case_payload(), headers=writer).status_code == 201


def test_each_scope_opens_its_own_routes_only(client: TestClient, db: Session) -> None:
    supervisor = make_user(db, role=Role.supervisor)
    holds = bearer(db, supervisor, scopes=[Scope.holds_write])
    reads = bearer(db, supervisor, scopes=[Scope.cases_read])
    handled = "/api/v1/dashboard/escalations/999999999/handled"
    # Past the guard, there is no such escalation; without the scope, the guard refuses.
    assert client.post(handled, json={"note": "phoned"}, headers=holds).status_code == 404
    assert client.post(handled, json={"note": "phoned"}, headers=reads).json()["scope"] == (
        "holds:write"
    )
    assert client.get("/api/v1/dashboard/overview", headers=reads).status_code == 200
    assert client.get("/api/v1/dashboard/overview", headers=holds).json()["scope"] == ("cases:read")
    admin = make_user(db, role=Role.admin)
    not_admin = bearer(db, admin, scopes=[Scope.cases_read, Scope.holds_write])
    assert client.get("/api/v1/admin/users", headers=not_admin).json()["scope"] == "admin"
    assert client.get("/api/v1/admin/users", headers=bearer(db, admin)).status_code == 200


def test_any_valid_token_may_ask_who_it_is(client: TestClient, db: Session) -> None:
    admin = make_user(db, role=Role.admin)
    me = client.get("/api/v1/me", headers=bearer(db, admin, scopes=[Scope.admin]))
    assert me.json()["username"] == admin.username


def test_people_in_the_browser_are_limited_by_their_role_alone(
    client: TestClient, db: Session
) -> None:
    person = sign_in(client, make_user(db, role=Role.call_taker))
    created = client.post("/api/v1/cases", json=case_payload(), headers=person.api_headers)
    assert created.status_code == 201, created.text
    assert client.get("/api/v1/cases", headers=person.api_headers).status_code == 200
    # Their role still decides: a call-taker does not act on the legal clock.
    freeze = client.post(
        f"/api/v1/cases/{created.json()['case_no']}/freezes", json={}, headers=person.api_headers
    )
    assert freeze.status_code == 403
    assert "scope" not in freeze.json()


def test_a_password_exchange_asks_for_scopes_within_the_role(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, role=Role.call_taker)
    body = {"username": user.username, "password": PASSWORD}
    default = client.post("/api/v1/auth/tokens", json=body)
    assert default.json()["scopes"] == ["cases:read", "cases:write"]
    narrow = client.post("/api/v1/auth/tokens", json={**body, "scopes": ["cases:read"]})
    assert narrow.json()["scopes"] == ["cases:read"]
    headers = {"Authorization": f"Bearer {narrow.json()['access_token']}"}
    assert client.post("/api/v1/cases", json=case_payload(), headers=headers).status_code == 403

    refused = client.post("/api/v1/auth/tokens", json={**body, "scopes": ["cases:read", "admin"]})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "scopes"
    assert error["message"] == "The role Call-taker may not hold these scopes: admin"
