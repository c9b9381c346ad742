"""Admins manage people and their API tokens: one implementation, which the admin API
(app/api/people.py, app/api/tokens.py) and the admin pages (app/pages/admin.py) call.

Every change is an audit event. A reset or a deactivation ends the user's sessions and
revokes their API tokens at once, so a lost laptop or a departed officer loses access now.
A token's value is returned once, by `issue_token`; only its SHA-256 is stored, and neither
appears in a listing or an audit event. Errors carry the field they are about (`errors`),
so a form can show each beside its input.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import ApiToken, Role, Unit, User, UserSession
from app.auth.schemas import ApiTokenCreate, PasswordReset, UserChange, UserCreate
from app.auth.service import create_api_token, hash_password
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.i18n import Message, msg


def _on(field: str, message: Message) -> list[dict[str, object]]:
    return [{"field": field, "message": message, "type": message.key}]


def load_user(db: Session, *, username: str) -> tuple[User, Unit]:
    """Load-or-404, locked for the change: the user and their unit."""
    found = db.execute(
        select(User, Unit)
        .join(Unit, Unit.id == User.unit_id)
        .where(User.username == username)
        .with_for_update(of=User)
    ).first()
    if found is None:
        raise NotFound(msg("admin.no_such_user", username=username))
    return found[0], found[1]


def cut_off(db: Session, *, user: User) -> None:
    """End every session of the user and revoke every API token, now."""
    db.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def list_people(db: Session) -> list[tuple[User, Unit]]:
    """Everyone who can log in, and who no longer can, by username; each with their unit."""
    rows = db.execute(
        select(User, Unit).join(Unit, Unit.id == User.unit_id).order_by(User.username)
    )
    return [(user, unit) for user, unit in rows]


def _not_institution(role: Role | None) -> None:
    """An institution's user is made with `stopay institution-user`, which names its
    institution; no other role may become one, nor it another."""
    if role == Role.institution:
        message = msg("admin.institution_role")
        raise Invalid(message, errors=_on("role", message))


def create_user(db: Session, *, data: UserCreate, admin: User) -> tuple[User, Unit]:
    _not_institution(data.role)
    unit = db.scalar(select(Unit).where(Unit.code == data.unit))
    if unit is None:
        message = msg("admin.no_such_unit", unit=data.unit)
        raise Invalid(message, errors=_on("unit", message))
    if db.scalar(select(User.id).where(User.username == data.username)) is not None:
        message = msg("admin.username_taken", username=data.username)
        raise Conflict(message, errors=_on("username", message))
    user = User(
        username=data.username,
        display_name=data.display_name,
        role=data.role.value,
        unit_id=unit.id,
        language=data.language,
        password_hash=hash_password(data.password),
    )
    db.add(user)
    db.flush()
    event = {"username": user.username, "role": user.role, "unit": unit.code}
    record_event(db, kind="user.created", user=admin, data=event)
    return user, unit


def reset_password(db: Session, *, username: str, data: PasswordReset, admin: User) -> User:
    """A new password; the user's sessions end and their API tokens are revoked."""
    user, _ = load_user(db, username=username)
    user.password_hash = hash_password(data.password)
    cut_off(db, user=user)
    record_event(db, kind="user.password_reset", user=admin, data={"username": username})
    return user


def change_user(db: Session, *, username: str, data: UserChange, admin: User) -> tuple[User, Unit]:
    """A new role, or deactivated (cut off at once) or reactivated; never one's own."""
    user, unit = load_user(db, username=username)
    if data.role is not None and data.role.value != user.role:
        _not_institution(data.role)
        _not_institution(Role(user.role))
    if user.id == admin.id and (data.is_active is False or data.role not in (None, Role.admin)):
        field = "is_active" if data.is_active is False else "role"
        message = msg("admin.not_yourself")
        raise Conflict(message, errors=_on(field, message))
    if data.role is not None and data.role.value != user.role:
        event = {"username": username, "from": user.role, "to": data.role.value}
        record_event(db, kind="user.role_changed", user=admin, data=event)
        user.role = data.role.value
    if data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        if not data.is_active:
            cut_off(db, user=user)
        kind = "user.activated" if data.is_active else "user.deactivated"
        record_event(db, kind=kind, user=admin, data={"username": username})
    return user, unit


def issue_token(
    db: Session,
    *,
    username: str,
    data: ApiTokenCreate,
    admin: User,
    default_max_age_s: int,
) -> tuple[str, ApiToken]:
    """A new API token for the user: its value (shown once, never stored) and its row."""
    user, _ = load_user(db, username=username)
    if not user.is_active:
        raise Conflict(msg("admin.user_inactive", username=username))
    max_age_s = default_max_age_s
    if data.expires_in_days is not None:
        max_age_s = data.expires_in_days * 24 * 3600
    token, row = create_api_token(
        db, user=user, name=data.name, max_age_s=max_age_s, scopes=data.scopes
    )
    db.refresh(row)  # created_at comes from the database
    record_event(
        db,
        kind="token.created",
        user=admin,
        data={
            "token_id": row.id,
            "username": username,
            "name": row.name,
            "scopes": row.scopes,
            "expires_at": row.expires_at.isoformat(),
        },
    )
    return token, row


def list_tokens(db: Session, *, user_ids: Collection[int]) -> dict[int, list[ApiToken]]:
    """The users' tokens, newest first, revoked and expired ones too, by user id."""
    found: dict[int, list[ApiToken]] = {user_id: [] for user_id in user_ids}
    rows = db.scalars(
        select(ApiToken)
        .where(ApiToken.user_id.in_(found))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    for row in rows:
        found[row.user_id].append(row)
    return found


def revoke_token(db: Session, *, token_id: int, admin: User) -> tuple[ApiToken, str]:
    """Revoke a token (its next call is refused) and name its user; a second time is a no-op."""
    found = db.execute(
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id)
        .with_for_update(of=ApiToken)
    ).first()
    if found is None:
        raise NotFound(msg("admin.no_such_token", id=token_id))
    row, username = found
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_event(
            db,
            kind="token.revoked",
            user=admin,
            data={"token_id": row.id, "username": username, "name": row.name},
        )
    return row, username
