"""A call-taker logged in through the real log-in page, with the session's CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from tests.factories import PASSWORD, make_user


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


@dataclass
class SignedIn:
    client: TestClient
    user: User
    csrf: str

    @property
    def api_headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf, "Accept": "application/json"}


def sign_in(client: TestClient, user: User) -> SignedIn:
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return SignedIn(client, user, csrf_of(client.get("/").text))


@pytest.fixture
def call_taker(client: TestClient, db: Session) -> SignedIn:
    return sign_in(client, make_user(db, role=Role.call_taker))
