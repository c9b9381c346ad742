"""The admin pages (/admin/users): forms without JavaScript, on the real database, through
the same service and audit events as the admin API."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import ApiToken, Role, Scope, Unit, User
from app.auth.service import create_api_token, touch_token
from tests.factories import PASSWORD, bearer, make_unit, make_user
from tests.intake.conftest import SignedIn, csrf_of, sign_in

NEW_PASSWORD = "a much longer passphrase"


@pytest.fixture
def admin(client: TestClient, db: Session) -> SignedIn:
    return sign_in(client, make_user(db, role=Role.admin))


@pytest.fixture
def second_client(app: FastAPI) -> Iterator[TestClient]:
    """Another browser: the person the admin is managing."""
    with TestClient(app, base_url="http://testserver") as other:
        yield other


def post(who: SignedIn, path: str, data: dict[str, str | list[str]]) -> object:
    return who.client.post(path, data={"csrf_token": who.csrf, **data}, follow_redirects=False)


def error_beside(page: str, error_id: str) -> str:
    """The message in the error span of one input (ids: form-username-input-err)."""
    found = re.search(rf'<span class="err" id="{re.escape(error_id)}">([^<]*)</span>', page)
    assert found, f"no error span {error_id}"
    return html.unescape(found[1])


def events(db: Session, kind: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def log_in(client: TestClient, username: str, password: str) -> int:
    client.cookies.clear()
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return answer.status_code


def create_form(of: Unit, **changes: str) -> dict[str, str | list[str]]:
    return {
        "username": "wang.li",
        "display_name": "王丽",
        "role": "call_taker",
        "unit": of.code,
        "language": "zh-CN",
        "password": NEW_PASSWORD,
        **changes,
    }


def test_an_admin_creates_a_user_through_the_form_who_can_then_log_in(
    admin: SignedIn, second_client: TestClient, db: Session
) -> None:
    unit = make_unit(db)
    page = admin.client.get("/admin/users")
    assert page.status_code == 200, page.text
    assert 'action="/admin/users"' in page.text
    assert f'<option value="{unit.code}">' in page.text  # the unit codes, offered

    created = admin.client.post(
        "/admin/users",
        data={"csrf_token": csrf_of(page.text), **create_form(unit)},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/admin/users"
    back = admin.client.get("/admin/users")
    assert "Created wang.li" in back.text  # the flash, in the admin's language (en)
    assert re.search(
        r'<details class="person" id="person-\d+" data-username="wang.li"\s+open>', back.text
    )
    assert "Created wang.li" not in admin.client.get("/admin/users").text  # shown once

    user = db.scalars(select(User).where(User.username == "wang.li")).one()
    assert (user.display_name, user.role, user.unit_id, user.language) == (
        "王丽",
        "call_taker",
        unit.id,
        "zh-CN",
    )
    [event] = events(db, "user.created")
    assert event.actor_user_id == admin.user.id
    assert event.data == {"username": "wang.li", "role": "call_taker", "unit": unit.code}
    assert NEW_PASSWORD not in str(event.data)

    assert log_in(second_client, "wang.li", NEW_PASSWORD) == 303
    assert "王丽" in second_client.get("/").text


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "zh-CN",
            {
                "short": "至少 12 个字符",
                "unit": "没有单位 NOPE",
                "taken": "已被使用",
                "chars": "只能使用字母",
            },
        ),
        (
            "en",
            {
                "short": "At least 12 characters",
                "unit": "No unit NOPE",
                "taken": "is taken",
                "chars": "Letters, digits",
            },
        ),
    ],
)
def test_a_bad_form_shows_each_error_beside_its_input_in_the_admins_language_and_stores_nothing(
    client: TestClient, db: Session, language: str, words: dict[str, str]
) -> None:
    admin = sign_in(client, make_user(db, role=Role.admin, language=language))
    unit = make_unit(db)
    taken = make_user(db, unit=unit)
    before = db.scalar(select(func.count()).select_from(User))

    short = post(admin, "/admin/users", create_form(unit, password="too short"))
    assert short.status_code == 422
    assert words["short"] in error_beside(short.text, "create-new-password-err")
    assert error_beside(short.text, "create-new-username-err") == ""
    assert 'value="王丽"' in short.text  # what was typed stays, but never the password
    assert "too short" not in short.text
    assert re.search(r'id="new-password"[^>]* autofocus aria-invalid="true"', short.text)

    nowhere = post(admin, "/admin/users", create_form(unit, unit="NOPE"))
    assert nowhere.status_code == 422
    assert error_beside(nowhere.text, "create-new-unit-err") == words["unit"]

    again = post(admin, "/admin/users", create_form(unit, username=taken.username))
    assert again.status_code == 409
    assert words["taken"] in error_beside(again.text, "create-new-username-err")

    odd = post(admin, "/admin/users", create_form(unit, username="wang li", display_name=""))
    assert odd.status_code == 422
    assert words["chars"] in error_beside(odd.text, "create-new-username-err")
    assert error_beside(odd.text, "create-new-display_name-err") != ""

    assert db.scalar(select(func.count()).select_from(User)) == before
    assert events(db, "user.created") == []


def test_a_password_reset_cuts_off_the_users_sessions_and_tokens(
    admin: SignedIn, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    token = bearer(db, user)
    assert log_in(second_client, user.username, PASSWORD) == 303
    assert second_client.get("/api/v1/me").status_code == 200

    short = post(admin, f"/admin/users/{user.username}/password", {"password": "short"})
    assert short.status_code == 422
    assert "At least 12" in error_beside(short.text, f"password-{user.username}-password-err")
    assert second_client.get("/api/v1/me").status_code == 200  # nothing happened
    assert events(db, "user.password_reset") == []

    reset = post(admin, f"/admin/users/{user.username}/password", {"password": NEW_PASSWORD})
    assert reset.status_code == 303, reset.text
    assert f"New password set for {user.username}" in admin.client.get("/admin/users").text
    assert second_client.get("/api/v1/me").status_code == 401  # the session is gone
    assert second_client.get("/api/v1/me", headers=token).status_code == 401
    assert log_in(second_client, user.username, PASSWORD) == 401
    assert log_in(second_client, user.username, NEW_PASSWORD) == 303
    [event] = events(db, "user.password_reset")
    assert (event.actor_user_id, event.data) == (admin.user.id, {"username": user.username})


def test_an_admin_deactivates_and_reactivates_someone_but_never_themselves(
    admin: SignedIn, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    token = bearer(db, user)
    assert log_in(second_client, user.username, PASSWORD) == 303

    off = post(admin, f"/admin/users/{user.username}", {"is_active": "false"})
    assert off.status_code == 303, off.text
    page = admin.client.get("/admin/users").text
    assert f"Deactivated {user.username}" in page
    assert f'id="reactivate-{user.id}"' in page
    db.refresh(user)
    assert user.is_active is False
    assert second_client.get("/api/v1/me").status_code == 401
    assert second_client.get("/api/v1/me", headers=token).status_code == 401
    assert log_in(second_client, user.username, PASSWORD) == 401

    on = post(admin, f"/admin/users/{user.username}", {"is_active": "true"})
    assert on.status_code == 303
    db.refresh(user)
    assert user.is_active is True
    assert log_in(second_client, user.username, PASSWORD) == 303
    assert [e.data for e in events(db, "user.deactivated")] == [{"username": user.username}]
    assert len(events(db, "user.activated")) == 1

    me = admin.user.username
    assert f'id="deactivate-{admin.user.id}"' not in page  # no button for oneself
    refused = post(admin, f"/admin/users/{me}", {"is_active": "false"})
    assert refused.status_code == 409
    assert "cannot deactivate yourself" in error_beside(refused.text, f"active-{me}-is_active-err")
    db.refresh(admin.user)
    assert admin.user.is_active is True
    assert admin.client.get("/admin/users").status_code == 200  # still signed in
    assert len(events(db, "user.deactivated")) == 1


def test_an_admin_changes_a_role_and_cannot_give_up_their_own(admin: SignedIn, db: Session) -> None:
    user = make_user(db)
    changed = post(admin, f"/admin/users/{user.username}", {"role": "supervisor"})
    assert changed.status_code == 303
    db.refresh(user)
    assert user.role == "supervisor"
    [event] = events(db, "user.role_changed")
    assert event.data == {"username": user.username, "from": "call_taker", "to": "supervisor"}
    me = admin.user.username
    refused = post(admin, f"/admin/users/{me}", {"role": "call_taker"})
    assert refused.status_code == 409
    assert error_beside(refused.text, f"role-{me}-role-err") != ""
    db.refresh(admin.user)
    assert admin.user.role == "admin"


def test_an_issued_token_is_shown_once_and_works_as_a_bearer(
    admin: SignedIn, client: TestClient, db: Session
) -> None:
    user = make_user(db, role=Role.call_taker)
    page = admin.client.get("/admin/users").text
    person = page.split(f'data-username="{user.username}"', 1)[1].split("</details>", 1)[0]
    offered = re.findall(r'name="scopes" value="([^"]+)"', person)
    assert offered == ["cases:read", "cases:write"]  # only what a call-taker may hold

    beyond = post(
        admin,
        f"/admin/users/{user.username}/tokens",
        {"name": "bank portal", "scopes": ["cases:read", "admin"]},
    )
    assert beyond.status_code == 422
    assert "admin" in error_beside(beyond.text, f"token-{user.username}-scopes-err")
    none = post(admin, f"/admin/users/{user.username}/tokens", {"name": "x", "scopes": []})
    assert none.status_code == 422
    assert error_beside(none.text, f"token-{user.username}-scopes-err") != ""
    days = post(
        admin,
        f"/admin/users/{user.username}/tokens",
        {"name": "x", "scopes": ["cases:read"], "expires_in_days": "abc"},
    )
    assert days.status_code == 422
    assert error_beside(days.text, f"token-{user.username}-expires_in_days-err") == (
        "Must be a whole number"
    )
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all() == []

    form: dict[str, str | list[str]] = {
        "name": "bank portal",
        "scopes": ["cases:read"],
        "expires_in_days": "30",
    }
    issued = post(admin, f"/admin/users/{user.username}/tokens", form)
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    found = re.search(r'id="new-token" class="mono" readonly value="(stp_[^"]+)"', issued.text)
    assert found, issued.text
    token = found[1]
    assert "Ctrl+C" in issued.text  # the copy hint
    [row] = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert (row.name, row.scopes) == ("bank portal", ["cases:read"])
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    assert abs((row.expires_at - expected).total_seconds()) < 60

    listing = admin.client.get("/admin/users").text
    assert token not in listing  # never again
    assert "bank portal" in listing
    assert f"Issued a token for {user.username}" in listing

    # A bearer token wins over the admin's cookie in the same client.
    answer = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == user.username
    refused = client.post("/api/v1/cases", json={}, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403  # cases:write was not given
    # Its last use is written after the request's own transaction, on a connection of its
    # own (tests/hostile/test_clients.py); here, where requests share the test's
    # transaction, it is written as that would.
    touch_token(db, token_id=row.id)
    listing = admin.client.get("/admin/users").text
    assert token not in listing
    db.refresh(row)
    assert row.last_used_at is not None
    used = row.last_used_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"<td>{used}</td>" in listing  # last used, in the centre's time
    [event] = events(db, "token.created")
    assert token not in str(event.data)
    assert event.data["scopes"] == ["cases:read"]


def test_revoking_a_token_refuses_its_next_call(admin: SignedIn, db: Session) -> None:
    user = make_user(db)
    token, row = create_api_token(
        db, user=user, name="integration", max_age_s=3600, scopes=[Scope.cases_read]
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert admin.client.get("/api/v1/me", headers=headers).status_code == 200
    page = admin.client.get("/admin/users").text
    assert f'action="/admin/tokens/{row.id}/revoke"' in page

    revoked = post(admin, f"/admin/tokens/{row.id}/revoke", {})
    assert revoked.status_code == 303
    assert admin.client.get("/api/v1/me", headers=headers).status_code == 401
    after = admin.client.get("/admin/users").text
    assert f"Revoked a token of {user.username}" in after
    assert f'action="/admin/tokens/{row.id}/revoke"' not in after
    assert re.search(rf'<tr class="revoked" data-token="{row.id}">', after)
    [event] = events(db, "token.revoked")
    assert event.data == {"token_id": row.id, "username": user.username, "name": "integration"}
    assert post(admin, "/admin/tokens/999999999/revoke", {}).status_code == 404


ROUTES = [
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("POST", "/admin/users/{username}"),
    ("POST", "/admin/users/{username}/password"),
    ("POST", "/admin/users/{username}/tokens"),
    ("POST", "/admin/tokens/{token_id}/revoke"),
]
FORMS = {
    "/admin/users": {
        "username": "sneaky",
        "display_name": "x",
        "role": "admin",
        "unit": "U",
        "password": NEW_PASSWORD,
    },
    "/admin/users/{username}": {"is_active": "false"},
    "/admin/users/{username}/password": {"password": NEW_PASSWORD},
    "/admin/users/{username}/tokens": {"name": "x", "scopes": ["cases:read"]},
    "/admin/tokens/{token_id}/revoke": {},
}


@pytest.mark.parametrize("role", [Role.call_taker, Role.supervisor])
def test_a_call_taker_or_supervisor_gets_403_on_every_admin_page(
    client: TestClient, db: Session, role: Role
) -> None:
    target = make_user(db)
    _, row = create_api_token(db, user=target, name="t", max_age_s=3600)
    someone = sign_in(client, make_user(db, role=role))
    assert 'href="/admin/users"' not in client.get("/").text  # no link either
    for method, path in ROUTES:
        concrete = path.format(username=target.username, token_id=row.id)
        if method == "GET":
            answer = client.get(concrete)
        else:
            answer = client.post(concrete, data={"csrf_token": someone.csrf, **FORMS[path]})
        assert answer.status_code == 403, f"{method} {path}"
    db.refresh(target)
    db.refresh(row)
    assert (target.is_active, row.revoked_at) == (True, None)
    assert db.scalars(select(User).where(User.username == "sneaky")).all() == []


def test_a_form_post_without_the_csrf_token_is_403_and_changes_nothing(
    admin: SignedIn, db: Session
) -> None:
    target = make_user(db)
    _, row = create_api_token(db, user=target, name="t", max_age_s=3600)
    assert 'href="/admin/users"' in admin.client.get("/").text  # the admin's link
    unit = make_unit(db)
    for method, path in ROUTES[1:]:
        concrete = path.format(username=target.username, token_id=row.id)
        form = {**FORMS[path], "unit": unit.code} if path == "/admin/users" else FORMS[path]
        for csrf in ({}, {"csrf_token": "not-the-sessions"}, {"csrf_token": "é"}):
            answer = admin.client.post(concrete, data={**form, **csrf}, follow_redirects=False)
            assert answer.status_code == 403, f"{method} {path} {csrf}"
    db.refresh(target)
    db.refresh(row)
    assert (target.is_active, row.revoked_at) == (True, None)
    assert db.scalars(select(User).where(User.username == "sneaky")).all() == []
    assert events(db, "user.created") == events(db, "token.created") == []


def test_the_page_runs_no_inline_script_and_its_forms_work_with_htmx_too(
    admin: SignedIn, db: Session
) -> None:
    make_user(db)
    page = admin.client.get("/admin/users").text
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    section = page.split('<div id="admin"', 1)[1]
    assert re.findall(r"\son[a-z]+=", section) == []  # no inline event handlers
    assert 'hx-boost="true"' in page
    assert "/static/vendor/htmx/htmx.min.js" in page
    # htmx sends the same form; a refusal answers the page again for it to swap in.
    answer = admin.client.post(
        "/admin/users",
        headers={"HX-Request": "true"},
        data={"csrf_token": admin.csrf, "username": "ab"},
    )
    assert answer.status_code == 422
    assert '<div id="admin"' in answer.text
