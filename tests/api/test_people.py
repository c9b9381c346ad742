"""Admins create users, reset passwords, change roles and deactivate; all audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, Unit
from tests.factories import PASSWORD, bearer, make_unit, make_user

NEW_PASSWORD = "a much longer passphrase"


def _admin(db: Session) -> dict[str, str]:
    return bearer(db, make_user(db, role=Role.admin))


def _token(client: TestClient, username: str, password: str) -> int:
    body = {"username": username, "password": password, "name": "t"}
    return client.post("/api/v1/auth/tokens", json=body).status_code


def test_an_admin_creates_a_user_who_can_then_log_in(client: TestClient, db: Session) -> None:
    unit: Unit = make_unit(db)
    body = {
        "username": "wang.li",
        "display_name": "王丽",
        "role": "call_taker",
        "unit": unit.code,
        "password": NEW_PASSWORD,
    }
    admin = _admin(db)
    created = client.post("/api/v1/admin/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert (created.json()["unit"], created.json()["is_active"]) == (unit.code, True)
    assert _token(client, "wang.li", NEW_PASSWORD) == 201
    again = client.post("/api/v1/admin/users", json=body, headers=admin)
    assert again.status_code == 409
    short = client.post(
        "/api/v1/admin/users", headers=admin, json={**body, "username": "x.y", "password": "short"}
    )
    assert [e["field"] for e in short.json()["errors"]] == ["password"]
    nowhere = client.post(
        "/api/v1/admin/users", headers=admin, json={**body, "username": "a.b", "unit": "NOPE"}
    )
    assert [e["field"] for e in nowhere.json()["errors"]] == ["unit"]
    [event] = db.scalars(select(Event).where(Event.kind == "user.created")).all()
    assert NEW_PASSWORD not in str(event.data)


def test_a_reset_or_deactivation_cuts_off_sessions_and_tokens_at_once(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    token = bearer(db, user)
    assert client.get("/api/v1/me", headers=token).status_code == 200
    admin = _admin(db)
    reset = client.post(
        f"/api/v1/admin/users/{user.username}/password",
        json={"password": NEW_PASSWORD},
        headers=admin,
    )
    assert reset.status_code == 204
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert _token(client, user.username, PASSWORD) == 401
    fresh = bearer(db, user)
    off = client.patch(
        f"/api/v1/admin/users/{user.username}", json={"is_active": False}, headers=admin
    )
    assert off.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=fresh).status_code == 401
    assert _token(client, user.username, NEW_PASSWORD) == 401
    kinds = db.scalars(select(Event.kind).where(Event.kind.like("user.%"))).all()
    assert {"user.password_reset", "user.deactivated"} <= set(kinds)


def test_an_admin_cannot_lock_themselves_out_and_others_cannot_manage_people(
    client: TestClient, db: Session
) -> None:
    me = make_user(db, role=Role.admin)
    mine = bearer(db, me)
    refused = client.patch(
        f"/api/v1/admin/users/{me.username}", json={"is_active": False}, headers=mine
    )
    assert refused.status_code == 409
    promoted = client.patch(
        f"/api/v1/admin/users/{make_user(db).username}", json={"role": "supervisor"}, headers=mine
    )
    assert promoted.json()["role"] == "supervisor"
    for role in (Role.call_taker, Role.supervisor):
        headers = bearer(db, make_user(db, role=role))
        assert client.get("/api/v1/admin/users", headers=headers).status_code == 403
    assert (
        client.patch(
            "/api/v1/admin/users/nobody", json={"is_active": False}, headers=mine
        ).status_code
        == 404
    )


def test_a_password_is_kept_exactly_as_typed_spaces_and_all(
    client: TestClient, db: Session
) -> None:
    spaced = f"  {NEW_PASSWORD}  "
    body = {
        "username": " zhao.lei ",
        "display_name": " 赵磊 ",
        "role": "call_taker",
        "unit": make_unit(db).code,
        "password": spaced,
    }
    created = client.post("/api/v1/admin/users", json=body, headers=_admin(db))
    assert created.status_code == 201, created.text
    assert (created.json()["username"], created.json()["display_name"]) == ("zhao.lei", "赵磊")
    assert _token(client, "zhao.lei", spaced) == 201
    assert _token(client, "zhao.lei", NEW_PASSWORD) == 401
