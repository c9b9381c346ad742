from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.auth.models import Role, Scope
from app.i18n import Language
from app.params import StrictBool

Password = Field(min_length=12, max_length=200, description="At least 12 characters.")


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "integrator",
                    "password": "…",
                    "name": "case intake",
                    "scopes": ["cases:read", "cases:write"],
                }
            ]
        },
    )

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    name: str = Field(default="api client", min_length=1, max_length=100)
    scopes: list[Scope] | None = Field(
        default=None,
        min_length=1,
        max_length=len(Scope),
        description="What the token may do; by default every scope the user's role may hold "
        "but `pii:reveal`, which must be asked for by name.",
    )


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    scopes: list[Scope]


class ApiTokenCreate(BaseModel):
    """An admin issues a token for a user (an integration acting as that user)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"name": "bank portal read-only", "scopes": ["cases:read"], "expires_in_days": 30}
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    scopes: list[Scope] = Field(
        min_length=1, max_length=len(Scope), description="Only scopes the user's role may hold."
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=365, description="Default: `STOPAY_API_TOKEN_MAX_AGE_S`."
    )


class ApiTokenRead(BaseModel):
    """A token as the admin sees it later: never its value, nor its hash."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "name": "bank portal read-only",
                    "scopes": ["cases:read"],
                    "created_at": "2026-11-30T09:00:00Z",
                    "expires_at": "2026-12-30T09:00:00Z",
                    "last_used_at": "2026-11-30T09:05:12Z",
                    "revoked_at": None,
                }
            ]
        },
    )

    id: int
    name: str
    scopes: list[Scope]
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiTokenCreated(ApiTokenRead):
    """The new token: `access_token` is shown this once and cannot be read again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "name": "bank portal read-only",
                    "scopes": ["cases:read"],
                    "created_at": "2026-11-30T09:00:00Z",
                    "expires_at": "2026-12-30T09:00:00Z",
                    "last_used_at": None,
                    "revoked_at": None,
                    "access_token": "stp_…",
                    "token_type": "bearer",
                }
            ]
        },
    )

    access_token: str
    token_type: str = "bearer"


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    kind: str


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: Role
    language: Language
    unit: UnitRead
    last_login_at: dt.datetime | None


class UserAdminRead(BaseModel):
    username: str
    display_name: str
    role: Role
    unit: str
    language: str
    is_active: bool
    last_login_at: str | None


Trimmed = StringConstraints(strip_whitespace=True)


class UserCreate(BaseModel):
    # Names are trimmed; a password is taken exactly as typed, as log-in takes it.
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Trimmed] = Field(
        min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$"
    )
    display_name: Annotated[str, Trimmed] = Field(min_length=1, max_length=200)
    role: Role
    unit: Annotated[str, Trimmed] = Field(
        min_length=1, max_length=32, description="The unit's code."
    )
    language: Language = "zh-CN"
    password: str = Password


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Password


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: StrictBool | None = None
