"""Typed builders for test data."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit, UnitKind, User
from app.auth.service import create_api_token, hash_password
from app.institutions.models import Institution

PASSWORD = "correct horse battery staple"


def make_unit(db: Session, *, kind: UnitKind = UnitKind.municipal_centre) -> Unit:
    code = f"U-{uuid.uuid4().hex[:8]}"
    unit = Unit(code=code, name_zh=f"单位{code}", name_en=f"Unit {code}", kind=kind.value)
    db.add(unit)
    db.flush()
    return unit


def make_user(
    db: Session,
    *,
    role: Role = Role.call_taker,
    unit: Unit | None = None,
    language: str = "en",
    password: str = PASSWORD,
    is_active: bool = True,
) -> User:
    unit = unit or make_unit(db)
    user = User(
        username=f"user-{uuid.uuid4().hex[:8]}",
        display_name="Test User",
        password_hash=hash_password(password),
        role=role.value,
        unit_id=unit.id,
        language=language,
        is_active=is_active,
    )
    db.add(user)
    db.flush()
    return user


def bearer(db: Session, user: User) -> dict[str, str]:
    """Authorization header for `user` with a fresh API token."""
    token = create_api_token(db, user=user, name="test", max_age_s=3600)
    return {"Authorization": f"Bearer {token}"}


def institution(db: Session, code: str) -> Institution:
    return db.execute(select(Institution).where(Institution.code == code)).scalar_one()


def luhn_complete(partial: str) -> str:
    """Append the Luhn check digit to `partial`."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return partial + str((10 - total % 10) % 10)
