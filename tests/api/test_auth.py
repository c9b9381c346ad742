from __future__ import annotations

import datetime as dt
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.auth.models import Role, User, UserSession
from app.db import utcnow
from tests.factories import PASSWORD, bearer, make_user


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def _log_in(client: TestClient, user: User, password: str = PASSWORD) -> int:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": user.username, "password": password, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    return response.status_code


def test_log_in_then_see_the_home_page_in_your_language(client: TestClient, db: Session) -> None:
    user = make_user(db, language="zh-CN")
    assert _log_in(client, user) == 303
    home = client.get("/")
    assert home.status_code == 200
    assert "接警员" in home.text  # the role, in the user's language
    assert '<html lang="zh-CN">' in home.text


def test_wrong_password_re_renders_the_form_with_the_reason(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    page = client.get("/login", headers={"accept-language": "en"})
    response = client.post(
        "/login",
        data={"username": user.username, "password": "nope", "csrf_token": _csrf(page.text)},
        headers={"accept-language": "en"},
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_log_in_without_the_form_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    client.get("/login")
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403


def test_pages_send_strangers_to_the_log_in_page(client: TestClient) -> None:
    response = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


def test_log_out_ends_the_session(client: TestClient, db: Session) -> None:
    user = make_user(db)
    _log_in(client, user)
    home = client.get("/")
    assert client.post("/logout", data={"csrf_token": _csrf(home.text)}).status_code == 200
    assert client.get("/", follow_redirects=False).status_code == 303


def test_log_out_needs_the_session_csrf_token(client: TestClient, db: Session) -> None:
    _log_in(client, make_user(db))
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert client.get("/").status_code == 200


def test_the_chosen_language_is_remembered_per_user(client: TestClient, db: Session) -> None:
    user = make_user(db, language="zh-CN")
    _log_in(client, user)
    home = client.get("/")
    client.post("/language", data={"csrf_token": _csrf(home.text), "language": "en", "next": "/"})
    assert "Call-taker" in client.get("/").text
    db.refresh(user)
    assert user.language == "en"


def test_an_api_client_exchanges_a_password_for_a_token(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.supervisor)
    response = client.post(
        "/api/v1/auth/tokens", json={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 201
    token = response.json()["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == user.username
    assert me.json()["role"] == "supervisor"


def test_a_wrong_password_gets_no_token_and_a_problem_in_the_callers_language(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    response = client.post(
        "/api/v1/auth/tokens",
        json={"username": user.username, "password": "nope"},
        headers={"accept-language": "zh-CN"},
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "用户名或密码错误"


def test_a_bad_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer stp_forged"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_answers_carry_security_headers(client: TestClient, db: Session) -> None:
    response = client.get("/api/v1/me", headers=bearer(db, make_user(db)))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_pages_run_no_inline_script_and_the_policy_allows_none(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    assert _log_in(client, user) == 303
    for path in ("/login", "/docs", "/"):
        page = client.get(path)
        assert page.status_code == 200, path
        policy = dict(
            part.strip().split(" ", 1)
            for part in page.headers["content-security-policy"].split(";")
        )
        assert policy["script-src"] == "'self'"
        # A <script> that runs is a file of ours; JSON data blocks are not run.
        for tag in re.findall(r"<script\b[^>]*>", page.text):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)


def _session_cookie(client: TestClient, user: User) -> str:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    return response.headers["set-cookie"]


def test_the_session_cookie_is_httponly_lax_and_secure_over_tls(app: FastAPI, db: Session) -> None:
    with TestClient(app, base_url="http://testserver") as plain:
        cookie = _session_cookie(plain, make_user(db)).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie.replace("httponly", "")
    with TestClient(app, base_url="https://testserver") as tls:
        assert "; secure" in _session_cookie(tls, make_user(db)).lower()


def test_an_expired_session_is_a_stranger(client: TestClient, db: Session) -> None:
    user = make_user(db)
    _log_in(client, user)
    assert client.get("/", follow_redirects=False).status_code == 200
    db.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
    )
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_every_page_links_its_icon_and_the_browsers_path_finds_it(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, language="en")
    assert _log_in(client, user) == 303
    home = client.get("/")
    assert '<link rel="icon" href="/static/favicon.svg"' in home.text
    assert "comes next" not in home.text  # the home page no longer promises a dashboard
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
