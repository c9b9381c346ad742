"""Who sent a callback, and whether its webhook-id was applied before: one statement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, String, bindparam, select, true
from sqlalchemy.orm import Session

from app.callbacks.models import CallbackInbox
from app.cases.models import Case
from app.dispatch.models import Instruction
from app.institutions.models import Institution, verifying_secrets

WEBHOOK_ID_MAX = 128  # callback_inbox.webhook_id


@dataclass(frozen=True)
class Sender:
    """The institution a callback names, as far as a callback needs it."""

    id: int
    code: str
    is_active: bool
    callback_secret: str
    callback_secret_previous: str | None
    callback_secret_previous_until: dt.datetime | None

    def verifying_secrets(self, now: dt.datetime) -> list[str]:
        return verifying_secrets(
            self.callback_secret,
            self.callback_secret_previous,
            self.callback_secret_previous_until,
            now,
        )


@dataclass(frozen=True)
class Seen:
    """A webhook-id applied before: what its first delivery was about (for the log)."""

    instruction_id: int
    case_no: str


@cache
def _statement() -> Select[Any]:
    """Built once: the institution by code, with the inbox row of the webhook-id, if any."""
    seen = (
        select(CallbackInbox.instruction_id, Case.case_no)
        .join(Instruction, Instruction.id == CallbackInbox.instruction_id)
        .join(Case, Case.id == Instruction.case_id)
        .where(
            CallbackInbox.institution_id == Institution.id,
            CallbackInbox.webhook_id == bindparam("p_webhook_id", type_=String),
        )
        .lateral("seen")
    )
    return (
        select(
            Institution.id,
            Institution.code,
            Institution.is_active,
            Institution.callback_secret,
            Institution.callback_secret_previous,
            Institution.callback_secret_previous_until,
            seen.c.instruction_id,
            seen.c.case_no,
        )
        .outerjoin(seen, true())
        .where(Institution.code == bindparam("p_code", type_=String))
    )


def find_sender(db: Session, *, code: str, webhook_id: str) -> tuple[Sender | None, Seen | None]:
    """The institution with `code`, and the first delivery of `webhook_id` if it was applied.

    The webhook-id is not verified yet: what is found of it counts only once it is (an id
    the inbox cannot hold, or one with a NUL, is not looked for).
    """
    if not 0 < len(webhook_id) <= WEBHOOK_ID_MAX or "\x00" in webhook_id:
        webhook_id = ""
    row = (
        db.connection()
        .execute(_statement(), {"p_code": code, "p_webhook_id": webhook_id})
        .one_or_none()
    )
    if row is None:
        return None, None
    sender = Sender(row[0], row[1], row[2], row[3], row[4], row[5])
    return sender, None if row.instruction_id is None else Seen(row.instruction_id, row.case_no)
