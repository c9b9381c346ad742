"""Admins manage people: create users, reset passwords, change roles, deactivate accounts.

Every change is an audit event. A reset or a deactivation ends the user's sessions and
revokes their API tokens at once, so a lost laptop or a departed officer loses access now.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import ApiToken, Role, Unit, User, UserSession
from app.auth.service import hash_password
from app.db import utcnow
from app.deps import Admin, DbSession
from app.errors import Conflict, Invalid, NotFound, request_language
from app.i18n import Language, t

router = APIRouter(prefix="/api/v1/admin/users", tags=["people"])

Username = Annotated[str, Path(min_length=1, max_length=64)]
Password = Field(min_length=12, max_length=200, description="At least 12 characters.")


class UserAdminRead(BaseModel):
    username: str
    display_name: str
    role: Role
    unit: str
    language: str
    is_active: bool
    last_login_at: str | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    unit: str = Field(min_length=1, max_length=32, description="The unit's code.")
    language: Language = "zh-CN"
    password: str = Password


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Password


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None


def _read(user: User, unit_code: str) -> UserAdminRead:
    return UserAdminRead(
        username=user.username, display_name=user.display_name, role=Role(user.role),
        unit=unit_code, language=user.language, is_active=user.is_active,
        last_login_at=user.last_login_at.isoformat() if user.last_login_at else None,
    )  # fmt: skip


def load_user(request: Request, db: Session, username: str) -> tuple[User, str]:
    """Load-or-404, locked for the change: the user and their unit's code."""
    found = db.execute(
        select(User, Unit.code)
        .join(Unit, Unit.id == User.unit_id)
        .where(User.username == username)
        .with_for_update(of=User)
    ).first()
    if found is None:
        raise NotFound(t("admin.no_such_user", request_language(request), username=username))
    return found[0], found[1]


def cut_off(db: Session, user: User) -> None:
    """End every session of the user and revoke every API token, now."""
    db.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


@router.get("", summary="Everyone who can log in, and who no longer can")
def list_users(db: DbSession, admin: Admin) -> list[UserAdminRead]:
    rows = db.execute(select(User, Unit.code).join(Unit, Unit.id == User.unit_id)
                      .order_by(User.username))  # fmt: skip
    return [_read(user, code) for user, code in rows]


@router.post("", status_code=201, summary="Create a user in a unit",
             responses={409: {"description": "The username is taken"}})  # fmt: skip
def create_user(request: Request, db: DbSession, admin: Admin, body: UserCreate) -> UserAdminRead:
    lang = request_language(request)
    unit = db.scalar(select(Unit).where(Unit.code == body.unit))
    if unit is None:
        message = t("admin.no_such_unit", lang, unit=body.unit)
        raise Invalid(message, errors=[{"field": "unit", "message": message,
                                        "type": "admin.no_such_unit"}])  # fmt: skip
    if db.scalar(select(User.id).where(User.username == body.username)) is not None:
        raise Conflict(t("admin.username_taken", lang, username=body.username))
    user = User(username=body.username, display_name=body.display_name, role=body.role.value,
                unit_id=unit.id, language=body.language,
                password_hash=hash_password(body.password))  # fmt: skip
    db.add(user)
    db.flush()
    data = {"username": user.username, "role": user.role, "unit": unit.code}
    record_event(db, kind="user.created", user=admin, data=data)
    return _read(user, unit.code)


@router.post("/{username}/password", status_code=204, summary="Set a new password",
             description="Ends the user's sessions and revokes their API tokens.",
             responses={404: {"description": "No such user"}})  # fmt: skip
def reset_password(
    request: Request, db: DbSession, admin: Admin, username: Username, body: PasswordReset
) -> Response:
    user, _ = load_user(request, db, username)
    user.password_hash = hash_password(body.password)
    cut_off(db, user)
    record_event(db, kind="user.password_reset", user=admin, data={"username": username})
    return Response(status_code=204)


@router.patch("/{username}", summary="Change a user's role, or deactivate or reactivate them",
              description="Deactivating ends their sessions and revokes their API tokens.",
              responses={404: {"description": "No such user"},
                         409: {"description": "An admin cannot lock themselves out"}})  # fmt: skip
def change_user(
    request: Request, db: DbSession, admin: Admin, username: Username, body: UserChange
) -> UserAdminRead:
    lang = request_language(request)
    user, unit_code = load_user(request, db, username)
    if user.id == admin.id and (body.is_active is False or body.role not in (None, Role.admin)):
        raise Conflict(t("admin.not_yourself", lang))
    if body.role is not None and body.role.value != user.role:
        data = {"username": username, "from": user.role, "to": body.role.value}
        record_event(db, kind="user.role_changed", user=admin, data=data)
        user.role = body.role.value
    if body.is_active is not None and body.is_active != user.is_active:
        user.is_active = body.is_active
        if not body.is_active:
            cut_off(db, user)
        kind = "user.activated" if body.is_active else "user.deactivated"
        record_event(db, kind=kind, user=admin, data={"username": username})
    return _read(user, unit_code)
