"""What the API takes and shows of instructions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.cases.schemas import Amount
from app.dispatch.models import InstructionKind, InstructionState, Outcome


class InstructionCorrection(BaseModel):
    """The fields an institution reported as not matching, corrected; unset ones are kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"holder_name": "刘某某"}]},
    )

    holder_name: str | None = Field(default=None, min_length=1, max_length=100)
    amount: Amount | None = None
    transaction_time: dt.datetime | None = None


class HoldRead(BaseModel):
    """Another case's stop-payment or freeze that holds this account now."""

    case_no: str
    instruction_id: int
    kind: InstructionKind
    state: InstructionState
    outcome: Outcome | None
    amount_requested: Decimal | None
    amount_stopped: Decimal | None
    expires_at: dt.datetime | None


class InstructionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: InstructionKind
    state: InstructionState
    outcome: Outcome | None
    institution: str
    account_id: int | None = Field(default=None, description="None for a registration.")
    account_no: str | None
    amount_requested: Decimal | None
    amount_stopped: Decimal | None
    balance: Decimal | None
    mismatch_field: str | None
    institution_ref: str | None
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    first_attempt_at: dt.datetime | None
    acked_at: dt.datetime | None
    completed_at: dt.datetime | None
    effective_at: dt.datetime | None
    expires_at: dt.datetime | None
    escalated_at: dt.datetime | None
    released_at: dt.datetime | None = Field(
        default=None, description="A confirmed release ended this hold early."
    )
    parent_id: int | None = Field(
        default=None,
        description="The instruction this one follows: the stop-payment a renewal, freeze, "
        "release or corrected resend is about, or the one whose outcome led here.",
    )
    document_no: str | None = Field(default=None, description="A freeze's document number.")
    document_id: int | None = Field(default=None, description="Its scanned document, if any.")
    dispatch_delay_ms: int | None = Field(description="created → first attempt")
    ack_ms: int | None = Field(description="created → acknowledged by the institution")
    completion_ms: int | None = Field(description="created → outcome reported")
