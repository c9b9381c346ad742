from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.auth.models import Role
from app.i18n import Language


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"username": "integrator", "password": "…", "name": "case intake"}]
        },
    )

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    name: str = Field(default="api client", min_length=1, max_length=100)


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


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
