"""Passwords, log-in sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.audit.service import record_event
from app.auth.models import (
    ASKED_FOR_ONLY,
    ROLE_SCOPES,
    ApiToken,
    Role,
    Scope,
    Unit,
    User,
    UserSession,
)
from app.config import Settings
from app.db import utcnow
from app.errors import Invalid
from app.i18n import msg
from app.i18n.labels import ROLE_LABEL

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

TOKEN_PREFIX = "stp_"


def csrf_matches(sent: str, expected: str) -> bool:
    """Whether a form's or header's CSRF token is the session's, in constant time. As bytes:
    compare_digest refuses a str with non-ASCII characters (a 500, not a 403)."""
    return bool(expected) and secrets.compare_digest(sent.encode(), expected.encode())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(db: Session, *, username: str, password: str) -> User | None:
    user = db.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def create_session(db: Session, *, user: User, max_age_s: int) -> tuple[str, UserSession]:
    """A new log-in session; returns the cookie value (never stored) and the row."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        id=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + dt.timedelta(seconds=max_age_s),
    )
    db.add(row)
    db.flush()
    return token, row


def resolve_session(db: Session, *, token: str) -> tuple[User, UserSession] | None:
    row = db.get(UserSession, _digest(token))
    if row is None or row.expires_at <= utcnow():
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row


def end_session(db: Session, *, token: str) -> None:
    db.execute(delete(UserSession).where(UserSession.id == _digest(token)))


def scopes_beyond(role: Role, scopes: Iterable[Scope]) -> list[Scope]:
    """The scopes in `scopes` that `role` may not hold, in the order Scope lists them."""
    beyond = set(scopes) - ROLE_SCOPES[role]
    return [scope for scope in Scope if scope in beyond]


class ScopesBeyondRole(Invalid):
    """Scopes asked for a token that the user's role may not hold: 422 on `scopes`."""

    def __init__(self, role: Role, beyond: list[Scope]) -> None:
        message = msg(
            "auth.scope_not_for_role",
            role=msg(ROLE_LABEL[role.value]),
            scopes=", ".join(scope.value for scope in beyond),
        )
        problem = {"field": "scopes", "message": message, "type": "auth.scope_not_for_role"}
        super().__init__(message, errors=[problem])
        # What the CLI prints, and the logs show: no language needed.
        self.args = (f"a {role.value} may not hold {', '.join(beyond)}",)
        self.role = role
        self.beyond = beyond


def create_api_token(
    db: Session, *, user: User, name: str, max_age_s: int, scopes: Iterable[Scope] | None = None
) -> tuple[str, ApiToken]:
    """A new bearer token; returns the plain value (never stored) and the row.

    Without `scopes` the token gets every scope the user's role may hold but `pii:reveal`;
    one the role may not hold raises ScopesBeyondRole, a 422 on `scopes`.
    """
    role = Role(user.role)
    granted = ROLE_SCOPES[role] - ASKED_FOR_ONLY if scopes is None else frozenset(scopes)
    if beyond := scopes_beyond(role, granted):
        raise ScopesBeyondRole(role, beyond)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_digest(token),
        scopes=[scope.value for scope in Scope if scope in granted],
        expires_at=utcnow() + dt.timedelta(seconds=max_age_s),
    )
    db.add(row)
    db.flush()
    return token, row


# A token's last_used_at is written at most this often (and never by the read itself).
TOKEN_TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class TokenGrant:
    """What a valid bearer token lets its caller do: act as `user`, within `scopes`.

    `stale` says the token's last_used_at is due to be written (touch_token, after the
    request's own transaction); `credential` names the token without being it.
    """

    user: User
    scopes: frozenset[Scope]
    token_id: int = 0
    stale: bool = False
    credential: str = ""


def resolve_api_token(db: Session, *, token: str) -> TokenGrant | None:
    """Reads only: a read request's snapshot must never write (see touch_token)."""
    digest = _digest(token)
    found = db.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    ).one_or_none()
    now = utcnow()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or row.expires_at <= now or not user.is_active:
        return None
    stale = row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_EVERY
    # Never more than the role allows today: a user moved to a lesser role keeps their
    # tokens, but only the scopes the new role may hold.
    scopes = frozenset(Scope(s) for s in row.scopes) & ROLE_SCOPES[Role(user.role)]
    credential = f"token:{digest}"
    return TokenGrant(user=user, scopes=scopes, token_id=row.id, stale=stale, credential=credential)


def touch_token(db: Session, *, token_id: int) -> None:
    """Write a token's last_used_at, in a short READ COMMITTED transaction of its own.

    At most once a minute, and never waiting: a row another request is writing right now is
    skipped (that request writes the same time), so any number of concurrent calls on one
    token cost one UPDATE and block nobody.
    """
    now = utcnow()
    due = (
        select(ApiToken.id)
        .where(ApiToken.id == token_id)
        .where(
            (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - TOKEN_TOUCH_EVERY)
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    db.execute(update(ApiToken).where(ApiToken.id == due).values(last_used_at=now))


def unit_subtree(unit_id: int) -> Select[int]:
    """The ids of a unit and every unit under it: what its people may see."""
    tree = select(Unit.id).where(Unit.id == unit_id).cte("unit_tree", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return select(tree.c.id)


@dataclass(frozen=True)
class Throttle:
    """Failed log-ins allowed in a window before that kind of attempt waits.

    `per_account` counts one account's failures from one address: a stranger who knows a
    username and fails from their address does not lock its owner out of theirs.
    `per_address` counts every failure from one address, whatever the account.
    """

    window: dt.timedelta = dt.timedelta(minutes=15)
    per_account: int = 5
    per_address: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(
            window=dt.timedelta(seconds=settings.login_window_s),
            per_account=settings.login_max_failures_per_account,
            per_address=settings.login_max_failures_per_address,
        )


def locked_for(
    db: Session, *, username: str, address: str, now: dt.datetime, throttle: Throttle
) -> int | None:
    """Seconds until the account (from this address), or the address, may try again; None
    when it may now.

    Counted from the `auth.login_failed` events, so the lock holds across API replicas and
    restarts, and every attempt is on the record.
    """
    since = now - throttle.window
    failures = select(Event.occurred_at).where(
        Event.kind == "auth.login_failed",
        Event.occurred_at > since,
        Event.data["address"].astext == address,
    )
    of_account = failures.where(Event.data["username"].astext == username)
    for query, limit in ((of_account, throttle.per_account), (failures, throttle.per_address)):
        recent = db.scalars(query.order_by(Event.occurred_at.desc()).limit(limit)).all()
        if len(recent) >= limit:
            # Free again once the oldest of the last `limit` failures leaves the window.
            return max(1, int((recent[-1] + throttle.window - now).total_seconds()) + 1)
    return None


def lock_out(db: Session, *, username: str, address: str, settings: Settings) -> int | None:
    """Seconds this log-in must wait, on the record as `auth.login_locked`; None when it may
    go ahead. (The page and the token endpoint answer it each in their own way.)

    Attempts from one address take turns, whatever account they name: a transaction lock on
    the address is held from this count until the attempt's own failure (or success) is
    committed, so concurrent wrong passwords cannot all pass either count (the account's
    or the address's) before any is recorded, and one address checks one password at a time.
    """
    db.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"login:{address}", 0))))
    wait_s = locked_for(
        db,
        username=username,
        address=address,
        now=utcnow(),
        throttle=Throttle.from_settings(settings),
    )
    if wait_s is None:
        return None
    record_event(db, kind="auth.login_locked", data={"username": username, "address": address})
    return wait_s


def minutes_of(seconds: int) -> int:
    """Seconds rounded up to whole minutes, as a person is told how long to wait."""
    return -(-seconds // 60)


def record_login(db: Session, *, username: str, address: str, user: User | None, via: str) -> None:
    """Every log-in, and every failed one, is an audit event (never the password)."""
    if user is None:
        record_event(
            db,
            kind="auth.login_failed",
            data={"username": username, "address": address, "via": via},
        )
    else:
        record_event(db, kind="auth.login", user=user, data={"address": address, "via": via})
