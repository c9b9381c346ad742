"""Admins issue API tokens with scopes, list them and revoke them; all audited, none shown twice."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import ApiToken, Role
from tests.factories import bearer, case_payload, make_user


def _admin(db: Session) -> dict[str, str]:
    return bearer(db, make_user(db, role=Role.admin))


def _issue(
    client: TestClient, admin: dict[str, str], username: str, **body: object
) -> dict[str, Any]:
    body = {"name": "bank portal", "scopes": ["cases:read"], **body}
    answer = client.post(f"/api/v1/admin/users/{username}/tokens", headers=admin, json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_an_admin_issues_a_token_that_works_until_revoked(client: TestClient, db: Session) -> None:
    admin = _admin(db)
    user = make_user(db, role=Role.call_taker)
    issued = _issue(client, admin, user.username, expires_in_days=7)
    assert issued["access_token"].startswith("stp_")
    assert issued["scopes"] == ["cases:read"]
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    assert client.post("/api/v1/cases", json=case_payload(), headers=headers).status_code == 403
    row = db.get_one(ApiToken, issued["id"])
    assert (row.expires_at - row.created_at).days == 7

    revoked = client.delete(f"/api/v1/admin/tokens/{issued['id']}", headers=admin)
    assert revoked.status_code == 204
    after = client.get("/api/v1/cases", headers=headers)
    assert after.status_code == 401
    assert after.headers["content-type"] == "application/problem+json"
    # Revoking again changes nothing; an unknown token is 404.
    assert client.delete(f"/api/v1/admin/tokens/{issued['id']}", headers=admin).status_code == 204
    assert client.delete("/api/v1/admin/tokens/999999999", headers=admin).status_code == 404
    kinds = db.scalars(
        select(Event.kind).where(Event.kind.like("token.%")).order_by(Event.id)
    ).all()
    assert kinds == ["token.created", "token.revoked"]


def test_a_token_holds_only_scopes_its_users_role_may_hold(client: TestClient, db: Session) -> None:
    admin = _admin(db)
    call_taker = make_user(db, role=Role.call_taker)
    url = f"/api/v1/admin/users/{call_taker.username}/tokens"
    for scopes in (["admin"], ["cases:read", "holds:write"]):
        refused = client.post(url, headers=admin, json={"name": "x", "scopes": scopes})
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["scopes"]
        assert scopes[-1] in refused.json()["detail"]
    unknown = client.post(url, headers=admin, json={"name": "x", "scopes": ["everything"]})
    assert unknown.status_code == 422
    assert client.post(url, headers=admin, json={"name": "x", "scopes": []}).status_code == 422
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == call_taker.id)).all() == []
    supervisor = make_user(db, role=Role.supervisor)
    issued = _issue(client, admin, supervisor.username, scopes=["holds:write", "cases:read"])
    assert issued["scopes"] == ["cases:read", "holds:write"]


def test_the_token_is_never_shown_again_nor_recorded(client: TestClient, db: Session) -> None:
    admin = _admin(db)
    user = make_user(db, role=Role.supervisor)
    issued = _issue(client, admin, user.username, name="dashboard feed")
    token = issued["access_token"]
    client.delete(f"/api/v1/admin/tokens/{issued['id']}", headers=admin)

    listed = client.get(f"/api/v1/admin/users/{user.username}/tokens", headers=admin)
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["name"] == "dashboard feed"
    assert item["scopes"] == ["cases:read"]
    assert item["revoked_at"] is not None
    assert item["last_used_at"] is None
    row = db.get_one(ApiToken, issued["id"])
    assert token not in listed.text
    assert row.token_hash not in listed.text
    assert set(item) == {
        "id",
        "name",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    }
    events = db.scalars(select(Event).where(Event.kind.like("token.%"))).all()
    assert len(events) == 2
    for event in events:
        text = json.dumps(event.data)
        assert token not in text
        assert row.token_hash not in text
        assert event.data["token_id"] == issued["id"]


def test_only_admins_manage_tokens(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.call_taker)
    issued = _issue(client, _admin(db), user.username)
    for role in (Role.call_taker, Role.supervisor):
        headers = bearer(db, make_user(db, role=role))
        tokens = f"/api/v1/admin/users/{user.username}/tokens"
        answers = [
            client.post(tokens, headers=headers, json={"name": "x", "scopes": ["cases:read"]}),
            client.get(tokens, headers=headers),
            client.delete(f"/api/v1/admin/tokens/{issued['id']}", headers=headers),
        ]
        assert [a.status_code for a in answers] == [403, 403, 403], role
    assert db.get_one(ApiToken, issued["id"]).revoked_at is None


def test_no_token_for_a_deactivated_or_unknown_user(client: TestClient, db: Session) -> None:
    admin = _admin(db)
    body = {"name": "x", "scopes": ["cases:read"]}
    gone = make_user(db, is_active=False)
    answer = client.post(f"/api/v1/admin/users/{gone.username}/tokens", headers=admin, json=body)
    assert answer.status_code == 409
    nobody = client.post("/api/v1/admin/users/nobody/tokens", headers=admin, json=body)
    assert nobody.status_code == 404
    assert client.get("/api/v1/admin/users/nobody/tokens", headers=admin).status_code == 404
