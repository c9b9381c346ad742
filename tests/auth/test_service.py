from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from app.auth.models import Role, Scope
from app.auth.service import ScopesBeyondRole, authenticate, create_api_token, resolve_api_token
from tests.factories import PASSWORD, make_user


def test_passwords_are_stored_as_argon2id(db: Session) -> None:
    user = make_user(db)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_authenticate(db: Session) -> None:
    user = make_user(db)
    assert authenticate(db, username=user.username, password=PASSWORD) is user
    assert user.last_login_at is not None
    assert authenticate(db, username=user.username, password="wrong") is None
    assert authenticate(db, username="nobody-at-all", password=PASSWORD) is None


def test_a_deactivated_user_cannot_log_in(db: Session) -> None:
    user = make_user(db, is_active=False)
    assert authenticate(db, username=user.username, password=PASSWORD) is None


def test_api_tokens_are_stored_hashed_and_expire(db: Session) -> None:
    user = make_user(db)
    token, row = create_api_token(db, user=user, name="intake", max_age_s=60)
    assert token not in row.token_hash
    grant = resolve_api_token(db, token=token)
    assert grant is not None
    assert grant.user is user

    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert resolve_api_token(db, token=token) is None


def test_a_revoked_token_is_refused(db: Session) -> None:
    user = make_user(db)
    token, row = create_api_token(db, user=user, name="intake", max_age_s=60)
    row.revoked_at = dt.datetime.now(dt.UTC)
    assert resolve_api_token(db, token=token) is None


def test_a_token_gets_its_roles_scopes_unless_told_and_never_more(db: Session) -> None:
    user = make_user(db, role=Role.call_taker)
    _, default = create_api_token(db, user=user, name="all", max_age_s=60)
    assert default.scopes == ["cases:read", "cases:write"]
    _, narrow = create_api_token(
        db, user=user, name="read", max_age_s=60, scopes=[Scope.cases_read, Scope.cases_read]
    )
    assert narrow.scopes == ["cases:read"]
    with pytest.raises(ScopesBeyondRole, match="call_taker may not hold holds:write"):
        create_api_token(db, user=user, name="x", max_age_s=60, scopes=[Scope.holds_write])


def test_a_token_never_does_more_than_its_users_role_does_today(db: Session) -> None:
    user = make_user(db, role=Role.admin)
    token, _ = create_api_token(db, user=user, name="all", max_age_s=60)
    user.role = Role.supervisor.value
    grant = resolve_api_token(db, token=token)
    assert grant is not None
    assert grant.scopes == {Scope.cases_read, Scope.holds_write}
