"""Refused callbacks as supervisors read them (GET /api/v1/institutions, the dashboard)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from app.callbacks.models import RefusedCallback
from app.callbacks.refusals import Reason, refusal_reasons
from app.i18n import Language


class RefusalReason(BaseModel):
    field: str = Field(description="Dotted path into the body, e.g. `data.amount_stopped`")
    rule: str = Field(description="The rule's message key, e.g. `callback.amount_over_asked`")
    message: str


class RefusedCallbackRead(BaseModel):
    id: int
    instruction_id: int | None
    webhook_id: str
    received_at: dt.datetime
    reasons: list[RefusalReason]


def refused_read(row: RefusedCallback, lang: Language) -> RefusedCallbackRead:
    """A refusal as the reader reads it, its reasons in their language: called at the edge
    (a router, a page) with the request's language."""
    return RefusedCallbackRead(
        id=row.id,
        instruction_id=row.instruction_id,
        webhook_id=row.webhook_id,
        received_at=row.received_at,
        reasons=[_reason(reason, lang) for reason in refusal_reasons(row)],
    )


def _reason(reason: Reason, lang: Language) -> RefusalReason:
    rule = reason.rule
    try:
        message = rule.in_language(lang)
    except (KeyError, IndexError, ValueError):
        # A rule the catalogues no longer hold, or whose parameters no longer fit it, reads
        # as its key rather than failing the whole list.
        message = rule.key
    return RefusalReason(field=reason.field, rule=rule.key, message=message)
