"""Refused callbacks as supervisors read them (GET /api/v1/institutions)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


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
