"""Demo data for the embedded mode: a unit tree and one log-in per role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit, UnitKind, User
from app.auth.service import hash_password
from app.institutions.models import Institution


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    display_name: str
    role: Role
    unit_code: str
    language: str
    institution: str | None = None  # an institution's user belongs to it


DEMO_UNITS = [
    # (code, name_zh, name_en, kind, parent code)
    ("SZ-FZZX", "市反诈中心", "Municipal Anti-Fraud Centre", UnitKind.municipal_centre, None),
    (
        "SZ-NS",
        "南山区反诈中心",
        "Nanshan District Anti-Fraud Centre",
        UnitKind.district_centre,
        "SZ-FZZX",
    ),
    (
        "SZ-FT",
        "福田区反诈中心",
        "Futian District Anti-Fraud Centre",
        UnitKind.district_centre,
        "SZ-FZZX",
    ),
    ("SZ-NS-YH", "粤海派出所", "Yuehai Police Station", UnitKind.police_station, "SZ-NS"),
]

DEMO_USERS = [
    DemoUser("calltaker", "calltaker-demo", "王接警", Role.call_taker, "SZ-FZZX", "zh-CN"),
    DemoUser("supervisor", "supervisor-demo", "李值班", Role.supervisor, "SZ-FZZX", "zh-CN"),
    DemoUser("admin", "admin-demo", "Admin", Role.admin, "SZ-FZZX", "en"),
    DemoUser("station", "station-demo", "赵民警", Role.call_taker, "SZ-NS-YH", "zh-CN"),
    DemoUser("ccb", "ccb-demo", "建行止付专席", Role.institution, "SZ-FZZX", "zh-CN", "CCB"),
]


def seed_demo(db: Session) -> int:
    """Create the demo units and users that are missing; returns how many users were added."""
    units = {u.code: u for u in db.scalars(select(Unit))}
    for code, name_zh, name_en, kind, parent in DEMO_UNITS:
        if code not in units:
            unit = Unit(
                code=code,
                name_zh=name_zh,
                name_en=name_en,
                kind=kind.value,
                parent_id=units[parent].id if parent else None,
            )
            db.add(unit)
            db.flush()
            units[code] = unit
    known = set(db.scalars(select(User.username)))
    institutions = dict(db.execute(select(Institution.code, Institution.id)).all())
    added = 0
    for demo in DEMO_USERS:
        if demo.username in known or (demo.institution and demo.institution not in institutions):
            continue
        db.add(
            User(
                username=demo.username,
                display_name=demo.display_name,
                password_hash=hash_password(demo.password),
                role=demo.role.value,
                unit_id=units[demo.unit_code].id,
                institution_id=institutions[demo.institution] if demo.institution else None,
                language=demo.language,
            )
        )
        added += 1
    db.flush()
    return added
