"""What an institution user reads of its own (GET /api/v1/institution/me/...)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from app.callbacks.schemas import RefusalReason
from app.dashboard.schemas import InstitutionStats


class OwnInstitution(BaseModel):
    code: str
    name_zh: str
    name_en: str
    sla_s: int = Field(description="Seconds within which each instruction's outcome is due")
    stats: InstitutionStats | None = Field(
        description="The scorecard the centre's dashboard shows for this institution, over "
        "`window_h` hours (None: no instructions in it)"
    )
    window_h: int
    refused_callbacks: int = Field(description="Signed callbacks refused in the window")
    rotation_under_way: bool = Field(description="The previous callback secret still verifies")
    previous_secret_valid_until: dt.datetime | None = Field(
        description="When the previous callback secret stops verifying"
    )
    secret_overlap_s: int = Field(
        description="How long a previous secret verifies after a rotation "
        "(`STOPAY_CALLBACK_SECRET_OVERLAP_S`)"
    )


class OwnInstruction(BaseModel):
    """An instruction sent to this institution, as it was sent, with its age against the SLA."""

    idempotency_key: str = Field(description="The `Idempotency-Key` it was sent with")
    case_no: str
    kind: str
    state: str
    account_no: str | None = Field(description="Masked when it is a victim's own account")
    amount_requested: Decimal | None
    created_at: dt.datetime
    due_at: dt.datetime = Field(description="created_at + the institution's SLA")
    age_s: int = Field(description="Open: seconds since created; done: created → outcome")
    over_sla: bool = Field(description="Older than the SLA (open) or answered after it (done)")
    attempts: int
    outcome: str | None = None
    amount_stopped: Decimal | None = None
    completed_at: dt.datetime | None = None
    reference: str | None = Field(default=None, description="The institution's own reference")


class OwnRefusal(BaseModel):
    webhook_id: str
    received_at: dt.datetime
    idempotency_key: str | None = Field(description="The instruction it named, if any")
    reasons: list[RefusalReason]


class Delivery(BaseModel):
    """One signed callback delivery and what we answered."""

    webhook_id: str
    received_at: dt.datetime
    idempotency_key: str | None
    answer: str = Field(
        description="`applied`, `ignored` (the instruction was already done), `refused` "
        "(never applied; see `reasons`), or `unknown` (accepted before answers were kept)"
    )
    repeats: int = Field(default=0, description="Repeated deliveries, each answered `duplicate`")
    repeated_at: dt.datetime | None = None
    reasons: list[RefusalReason] = Field(default_factory=list)
