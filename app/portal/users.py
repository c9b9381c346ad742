"""Making a partner institution's user (`stopay institution-user`), and handing over its
first callback secret: shown once to whoever runs the command, never logged nor stored
elsewhere than the institution's row."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import Role, Unit, User
from app.auth.service import hash_password
from app.institutions.models import Institution
from app.institutions.secrets import Rotation, rotate_callback_secret


class Refused(ValueError):
    """No such institution, unit or (for a new user) a username already taken."""


def create_institution_user(
    db: Session,
    *,
    code: str,
    username: str,
    display_name: str,
    password: str,
    unit_code: str | None,
    language: str,
) -> tuple[User, Institution]:
    """A user of role `institution` belonging to `code`; managed by `unit_code` (by default
    the root of the unit tree), which gives it no case: its role reaches none."""
    institution = db.scalar(
        select(Institution).where(Institution.code == code.upper()).with_for_update()
    )
    if institution is None:
        raise Refused(f"no institution {code!r}")
    units = select(Unit)
    unit = db.scalar(
        units.where(Unit.code == unit_code)
        if unit_code
        else units.where(Unit.parent_id.is_(None)).order_by(Unit.id)
    )
    if unit is None:
        raise Refused(f"no unit {unit_code!r}" if unit_code else "no unit at all")
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Refused(f"username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=Role.institution.value,
        unit_id=unit.id,
        institution_id=institution.id,
        language=language,
    )
    db.add(user)
    db.flush()
    record_event(
        db,
        kind="institution.user_created",
        institution_id=institution.id,
        data={"username": username, "role": user.role, "institution": institution.code},
    )
    return user, institution


def first_secret(db: Session, *, institution: Institution, now: dt.datetime) -> Rotation:
    """A fresh secret for the handover; the one before stops at once (nobody has it yet)."""
    return rotate_callback_secret(
        db, institution=institution, user=None, now=now, overlap=dt.timedelta(0), by="cli"
    )
