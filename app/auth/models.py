"""People: units (the anti-fraud centre's tree), users, their sessions and API tokens."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, CreatedAt, one_of


class Role(StrEnum):
    call_taker = "call_taker"
    supervisor = "supervisor"
    admin = "admin"
    # A person or API client of one partner institution: sees only that institution's own
    # instructions, callbacks and scorecard, and rotates its callback secret.
    institution = "institution"


class Scope(StrEnum):
    """What an API token may do; its user's role must allow it as well."""

    cases_read = "cases:read"
    cases_write = "cases:write"
    holds_write = "holds:write"
    admin = "admin"
    # A person's ID number, phone or own account in clear (audited); `cases:read` shows
    # them masked only.
    pii_reveal = "pii:reveal"
    # An institution user's own view; rotating its callback secret is asked for by name.
    institution_read = "institution:read"
    institution_rotate = "institution:rotate"


# The scopes each role may hold: exactly those of the routes the role may call.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.call_taker: frozenset({Scope.cases_read, Scope.cases_write}),
    Role.supervisor: frozenset(
        {Scope.cases_read, Scope.cases_write, Scope.holds_write, Scope.pii_reveal}
    ),
    Role.admin: frozenset({Scope.cases_read, Scope.holds_write, Scope.admin, Scope.pii_reveal}),
    Role.institution: frozenset({Scope.institution_read, Scope.institution_rotate}),
}
# Never in a token by default: only when asked for by name.
ASKED_FOR_ONLY: frozenset[Scope] = frozenset({Scope.pii_reveal, Scope.institution_rotate})


class UnitKind(StrEnum):
    municipal_centre = "municipal_centre"
    district_centre = "district_centre"
    police_station = "police_station"


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (one_of("kind", UnitKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    created_at: Mapped[CreatedAt]


class User(Base):
    __tablename__ = "user"
    __table_args__ = (
        one_of("role", Role),
        one_of("language", ("zh-CN", "en")),
        # An institution user belongs to exactly one institution; nobody else to any.
        CheckConstraint(
            "(role = 'institution') = (institution_id IS NOT NULL)", name="institution_user"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    # For an institution user: the unit that manages the relationship (reaches no case).
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), server_default="zh-CN")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[CreatedAt]
    last_login_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship(lazy="raise")


class UserSession(Base):
    """A log-in session; the cookie holds a random token, the row its SHA-256."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime | None]


class ApiToken(Base):
    """A bearer token for an API client; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint(
            "scopes <@ ARRAY[{}]::varchar[]".format(", ".join(f"'{s.value}'" for s in Scope)),
            name="scopes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
