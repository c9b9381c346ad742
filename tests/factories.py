"""Typed builders for test data."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, Scope, Unit, UnitKind, User
from app.auth.service import create_api_token, hash_password
from app.cards import luhn_complete
from app.dispatch.models import Instruction
from app.institutions.models import Institution

PASSWORD = "correct horse battery staple"


@functools.cache
def _password_hash(password: str) -> str:
    # Argon2 is slow on purpose (~0.3 s); one hash per password is enough for tests.
    return hash_password(password)


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
    institution_code: str | None = None,
) -> User:
    """A user; of role `institution`, a user of `institution_code` (by default CCB)."""
    unit = unit or make_unit(db)
    belongs = None
    if role == Role.institution:
        belongs = institution(db, institution_code or "CCB").id
    user = User(
        username=f"user-{uuid.uuid4().hex[:8]}",
        display_name="Test User",
        password_hash=_password_hash(password),
        role=role.value,
        unit_id=unit.id,
        institution_id=belongs,
        language=language,
        is_active=is_active,
    )
    db.add(user)
    db.flush()
    return user


def bearer(db: Session, user: User, *, scopes: Iterable[Scope] | None = None) -> dict[str, str]:
    """Authorization header for `user` with a fresh API token (by default, the role's scopes)."""
    token, _row = create_api_token(db, user=user, name="test", max_age_s=3600, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def institution(db: Session, code: str) -> Institution:
    return db.execute(select(Institution).where(Institution.code == code)).scalar_one()


VICTIM_SERIAL = 900_000
BANK_BINS = {"ICBC": "622202", "CCB": "621700", "ABC": "622848", "CMB": "622588"}


def card_no(bank: str = "ICBC", serial: int = 1) -> str:
    """A valid 19-digit card number of `bank` (known BIN, right Luhn digit)."""
    prefix = BANK_BINS[bank]
    return luhn_complete(f"{prefix}{serial:012d}")


def fresh_card_no(bank: str = "ICBC") -> str:
    """A valid card number of `bank` no other test (or earlier run on the same database) uses."""
    return card_no(bank, uuid.uuid4().int % 10**11)


def transfer_payload(
    *,
    to: dict[str, str] | None = None,
    from_: dict[str, str] | None = None,
    to_bank: str = "CCB",
    to_serial: int = 1,
    amount: str = "1000.00",
    minutes_ago: int = 10,
    **changes: object,
) -> dict[str, Any]:
    """One victim payment (from the victim's ICBC card unless `from_` says otherwise)."""
    occurred = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    payload: dict[str, Any] = {
        "occurred_at": occurred.isoformat(),
        "amount": amount,
        "from": from_
        or {
            "institution": "ICBC",
            "account_no": card_no("ICBC", VICTIM_SERIAL),
            "holder_name": "陈女士",
        },
        "to": to or {"account_no": card_no(to_bank, to_serial), "holder_name": "刘某"},
        "channel": "mobile_banking",
        "reference": f"REF{to_serial}",
    }
    payload.update(changes)
    return payload


def case_payload(*, transfers: int | list[dict[str, Any]] = 1, **changes: object) -> dict[str, Any]:
    """A valid report: by default `transfers` victim payments to distinct level-1 cards."""
    banks = list(BANK_BINS)
    if isinstance(transfers, int):
        transfers = [
            transfer_payload(to_bank=banks[i % len(banks)], to_serial=uuid.uuid4().int % 10**11)
            for i in range(transfers)
        ]
    payload: dict[str, Any] = {
        "received_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).isoformat(),
        "channel": "phone_call",
        "victim": {"name": "陈女士", "id_no": "11010519491231002X", "phone": "13800138000"},
        "fraud_type": "impersonate_customer_service",
        "narrative": "自称客服，称可办理退款。",
        "transfers": transfers,
        "contacts": [{"kind": "phone", "value": "+85261234567"}],
    }
    payload.update(changes)
    return payload


def make_case(
    db: Session,
    *,
    transfers: int | list[dict[str, Any]] = 1,
    user: User | None = None,
    **changes: object,
) -> str:
    """A case written by the intake service itself; returns its case number."""
    from zoneinfo import ZoneInfo

    from app.casefile.create import create_case
    from app.cases.schemas import CaseCreate

    data = CaseCreate.model_validate(case_payload(transfers=transfers, **changes))
    _, created = create_case(
        db, data=data, user=user or make_user(db), zone=ZoneInfo("Asia/Shanghai")
    )
    return created.case_no


def instructions_of(db: Session, case_no: str) -> list[Instruction]:
    from app.cases.models import Case

    return list(
        db.scalars(
            select(Instruction)
            .join(Case, Case.id == Instruction.case_id)
            .where(Case.case_no == case_no)
            .order_by(Instruction.id)
        )
    )


def secret_rotations(db: Session, code: str) -> int:
    """How many times the institution's callback secret has been rotated (its audit events)."""
    rotated = (
        select(func.count())
        .select_from(Event)
        .join(Institution, Institution.id == Event.institution_id)
        .where(Event.kind == "institution.secret_rotated", Institution.code == code)
    )
    return db.scalar(rotated) or 0
