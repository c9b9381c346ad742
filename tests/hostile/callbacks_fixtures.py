"""Hostile callbacks: a stop-payment to attack, raw signed bodies, and what must not change."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app.callbacks.models import RefusedCallback
from app.cases.models import Case
from app.dispatch.models import Instruction
from tests.casework import instructions, make_case
from tests.factories import fresh_card_no, institution

CODE = "CCB"


def stop_of(db: Session, amount: str = "5000.00") -> tuple[Case, Instruction]:
    """A case whose one stop-payment (at CCB, `amount` asked) awaits its outcome."""
    case = make_case(db, (fresh_card_no(CODE), amount))
    [stop] = instructions(db, case)
    return case, stop


def signed_raw(db: Session, body: bytes, *, code: str = CODE) -> dict[str, str]:
    """Headers signing `body` exactly as given, with the institution's real secret."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    when = dt.datetime.now(dt.UTC)
    signature = Webhook(institution(db, code).callback_secret).sign(msg_id, when, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def snapshot(db: Session, case: Case) -> list[tuple[Any, ...]]:
    """Every instruction of the case as it stands: a refused callback changes none of it."""
    db.expire_all()
    rows = db.scalars(select(Instruction).where(Instruction.case_id == case.id))
    return sorted(
        (i.id, i.state, i.outcome, i.amount_stopped, i.balance, i.effective_at, i.expires_at)
        for i in rows
    )


def refusals(db: Session, webhook_id: str) -> list[RefusedCallback]:
    return list(db.scalars(select(RefusedCallback).where(RefusedCallback.webhook_id == webhook_id)))


def assert_refused(
    db: Session, answer: Response, field: str, *, webhook_id: str, status: int = 422
) -> RefusedCallback:
    """A problem+json naming `field`, and exactly one refusal on record naming it too."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in answer.json()["errors"]]
    assert field in fields, fields
    [refused] = refusals(db, webhook_id)
    assert field in [r["field"] for r in refused.reasons]
    return refused
