"""Drafts of the intake form: what the call-taker has typed so far, field by field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Input name (the API's dotted field path, e.g. `transfers.0.amount`) → the text as typed.
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FieldText = Annotated[str, StringConstraints(max_length=20_000)]
# 200 transfers of 9 inputs, 50 contacts of 2, and the case's own dozen.
MAX_FIELDS = 2_000
DRAFT_KEY_PATTERN = r"^[A-Za-z0-9_-]{8,200}$"

DRAFT_EXAMPLE: dict[str, Any] = {
    "fields": {
        "received_at": "2026-11-22 09:41",
        "victim.name": "陈女士",
        "transfers.0.to.account_no": "6217000201234567897",
        "transfers.0.amount": "45.54万",
    }
}


class DraftWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [DRAFT_EXAMPLE]})

    fields: dict[FieldName, FieldText] = Field(max_length=MAX_FIELDS)


class DraftRead(DraftWrite):
    draft_key: str = Field(description="The form's key for this call, also its Idempotency-Key.")
    case_no: str | None = Field(
        description="Set once a case was submitted with this key: the draft is done with."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class DraftSummary(BaseModel):
    draft_key: str
    victim_name: str
    updated_at: dt.datetime
