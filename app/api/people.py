"""The admin API for people: create users, reset passwords, change roles, deactivate.

The logic is in app/auth/admin_service.py, which the admin pages call as well.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.auth import admin_service as people
from app.auth.models import Role, Unit, User
from app.auth.schemas import PasswordReset, UserAdminRead, UserChange, UserCreate
from app.deps import Admin, DbSession, require_admin

router = APIRouter(prefix="/api/v1/admin/users", tags=["people"])

Username = Annotated[str, Path(min_length=1, max_length=64)]


def _read(user: User, unit: Unit) -> UserAdminRead:
    return UserAdminRead(
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        unit=unit.code,
        language=user.language,
        is_active=user.is_active,
        last_login_at=user.last_login_at.isoformat() if user.last_login_at else None,
    )


@router.get(
    "",
    summary="Everyone who can log in, and who no longer can",
    dependencies=[Depends(require_admin)],
)
def list_users(db: DbSession) -> list[UserAdminRead]:
    """Every user with their unit, role, language and whether they may still log in. Admins only."""
    return [_read(user, unit) for user, unit in people.list_people(db)]


@router.post(
    "",
    status_code=201,
    summary="Create a user in a unit",
    responses={409: {"description": "The username is taken"}},
)
def create_user(db: DbSession, admin: Admin, body: UserCreate) -> UserAdminRead:
    """A new user in a unit, with a role and a first password; the user name must be new (409
    otherwise). Audited."""
    user, unit = people.create_user(db, data=body, admin=admin)
    return _read(user, unit)


@router.post(
    "/{username}/password",
    status_code=204,
    summary="Set a new password",
    description="Ends the user's sessions and revokes their API tokens.",
    responses={404: {"description": "No such user"}},
)
def reset_password(
    db: DbSession, admin: Admin, username: Username, body: PasswordReset
) -> Response:
    people.reset_password(db, username=username, data=body, admin=admin)
    return Response(status_code=204)


@router.patch(
    "/{username}",
    summary="Change a user's role, or deactivate or reactivate them",
    description="Deactivating ends their sessions and revokes their API tokens.",
    responses={
        404: {"description": "No such user"},
        409: {"description": "An admin cannot lock themselves out"},
    },
)
def change_user(db: DbSession, admin: Admin, username: Username, body: UserChange) -> UserAdminRead:
    user, unit = people.change_user(db, username=username, data=body, admin=admin)
    return _read(user, unit)
