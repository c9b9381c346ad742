"""Log-ins are throttled per account from an address, and per address; every attempt is on
the record."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from tests.api.test_auth import _log_in
from tests.factories import PASSWORD, make_user


def _token(client: TestClient, username: str, password: str, lang: str = "en") -> Response:
    return client.post(
        "/api/v1/auth/tokens",
        headers={"accept-language": lang},
        json={"username": username, "password": password, "name": "t"},
    )


def _kinds(db: Session, username: str) -> list[str]:
    rows = db.scalars(
        select(Event.kind)
        .where(Event.kind.like("auth.login%"), Event.data["username"].astext == username)
        .order_by(Event.id)
    )
    return list(rows)


def test_five_failures_lock_the_account_even_against_the_right_password(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    for _ in range(5):
        wrong = _token(client, user.username, "guess")
        assert wrong.status_code == 401
    locked = _token(client, user.username, PASSWORD, lang="zh-CN")
    assert locked.status_code == 429
    assert locked.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "登录失败次数过多" in locked.json()["detail"]
    assert _kinds(db, user.username) == ["auth.login_failed"] * 5 + ["auth.login_locked"]
    # The page is locked too, with the reason on it.
    assert _log_in(client, user) == 429
    # Another account from elsewhere is not affected.
    other = make_user(db)
    fine = _token(client, other.username, PASSWORD)
    assert fine.status_code == 201


def test_an_accounts_lock_holds_only_at_the_address_that_failed(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    user = make_user(db)
    for _ in range(5):
        assert _token(client, user.username, "guess").status_code == 401
    assert _token(client, user.username, PASSWORD).status_code == 429
    # The owner, elsewhere, is not kept out by whoever failed at "testclient".
    with TestClient(app, client=("192.0.2.10", 50000)) as elsewhere:
        assert _token(elsewhere, user.username, PASSWORD).status_code == 201


def test_twenty_failures_from_one_address_lock_that_address(
    client: TestClient, db: Session
) -> None:
    for n in range(20):
        _token(client, f"nobody-{n}", "x")
    user = make_user(db)
    answer = _token(client, user.username, PASSWORD)
    assert answer.status_code == 429
    assert "Too many failed log-ins" in answer.json()["detail"]


def test_a_successful_log_in_is_recorded_without_the_password(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    assert _log_in(client, user) == 303
    [event] = db.scalars(
        select(Event).where(Event.kind == "auth.login", Event.actor_user_id == user.id)
    ).all()
    assert event.data == {"address": "testclient", "via": "page"}
    assert PASSWORD not in str(event.data)
