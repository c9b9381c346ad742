from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import ApiToken
from app.auth.service import authenticate, create_api_token, resolve_api_token
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
    token = create_api_token(db, user=user, name="intake", max_age_s=60)
    row = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert token not in row.token_hash
    assert resolve_api_token(db, token=token) is user

    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert resolve_api_token(db, token=token) is None


def test_a_revoked_token_is_refused(db: Session) -> None:
    user = make_user(db)
    token = create_api_token(db, user=user, name="intake", max_age_s=60)
    row = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    row.revoked_at = dt.datetime.now(dt.UTC)
    assert resolve_api_token(db, token=token) is None
