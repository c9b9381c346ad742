"""Answers of the dashboard's API: each one what a panel of the page shows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.callbacks.schemas import RefusedCallbackRead
from app.casefile.reach import Interception
from app.dispatch.failures import FailureClass
from app.institutions.models import BreakerState, InstitutionKind


class Overview(BaseModel):
    """Today in the centre's time zone, at a glance."""

    day: dt.date = Field(description="The centre's calendar day the figures are for")
    cases_received: int
    cases_open: int = Field(description="Cases not closed, any day: the queue's total")
    instructions_in_flight: int = Field(
        description="Queued for or sent to the institution, no outcome yet; any day"
    )
    escalations_open: int = Field(
        description="Escalated (a person must phone), handled or not, until an outcome arrives"
    )
    lost: Decimal = Field(description="Reported lost in today's cases")
    stopped: Decimal = Field(description="Held now by stop-payments, today's cases")
    frozen: Decimal = Field(description="Held now by freezes, today's cases")
    returned: Decimal = Field(description="Paid back to victims of today's cases")
    first_stop_p50_s: float | None = Field(
        description="Median seconds from the call to the first stop-payment taking effect"
    )
    refused_callbacks: int = Field(
        default=0, description="Signed callbacks refused today, all institutions (never applied)"
    )


class QueueItem(BaseModel):
    case_no: str
    priority: str
    status: str
    fraud_type: str
    victim_name: str
    received_at: dt.datetime
    since_call_s: int = Field(description="Seconds from the call to now")
    first_stop_s: float | None = Field(description="Call to the first stop taking effect")
    lost: Decimal
    held: Decimal = Field(description="Stopped or frozen now, each account's latest hold")
    interception: Interception | None = Field(
        default=None,
        description="Held now ÷ still on the accounts when the report came, as far as the "
        "institutions have reported it (the case answer's); null while none has",
    )
    instructions_in_flight: int = Field(description="As the overview's, for this case")
    escalated: int = Field(description="As the overview's escalations, for this case")
    shared_accounts: int = Field(description="Accounts of this case also in other cases")


class Queue(BaseModel):
    total: int = Field(description="Open cases in all; `items` are the first `limit`")
    items: list[QueueItem]


class DeadlineKind(StrEnum):
    lapsing = "lapsing"  # a stop-payment ends within the warning time with nothing after it
    lapsed = "lapsed"  # it ended with nothing after it
    freeze_renewal = "freeze_renewal"  # a freeze ends within its warning time
    return_due = "return_due"  # a confirmed return the bank is to pay
    return_overdue = "return_overdue"  # past the bank's working days


class DeadlineAction(StrEnum):
    freeze = "freeze"
    renew = "renew"
    complete_return = "complete_return"


class Deadline(BaseModel):
    kind: DeadlineKind
    action: DeadlineAction
    case_no: str
    institution: str
    account_no: str
    amount: Decimal
    deadline: dt.datetime
    instruction_id: int | None = None
    return_id: int | None = None


class Deadlines(BaseModel):
    now: dt.datetime = Field(description="The legal clock's time the deadlines are seen from")
    counts: dict[DeadlineKind, int] = Field(description="How many of each kind in all")
    items: list[Deadline] = Field(description="At most `limit` of each kind, soonest first")


class DeskContact(BaseModel):
    """Whom the duty officer phones at the institution."""

    desk_zh: str | None
    desk_en: str | None
    phone: str | None


class Escalation(BaseModel):
    instruction_id: int
    case_no: str
    priority: str
    kind: str
    institution: str
    institution_name_zh: str
    institution_name_en: str
    contact: DeskContact
    account_no: str | None
    amount: Decimal | None
    escalated_at: dt.datetime | None
    attempts: int
    last_error: str | None = Field(description="The raw error, as the worker logged it")
    failure: FailureClass | None = Field(
        default=None, description="What went wrong, by class (the pages say it in words)"
    )
    handled_at: dt.datetime | None = None
    handled_by: str | None = None
    note: str | None = None


class HandledIn(BaseModel):
    model_config = {"extra": "forbid", "str_strip_whitespace": True}

    note: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"\S",
        description="What was done, e.g. who at the bank was phoned and what they said",
        examples=["Phoned CCB desk (Ms Li), stop entered manually, ref 2026-118"],
    )


class CompletionPoint(BaseModel):
    """Completion times of the instructions created in one bucket, per institution."""

    institution: str
    bucket_start: dt.datetime
    instructions: int
    completion_p50_ms: int | None
    completion_p95_ms: int | None


class CompletionSeries(BaseModel):
    hours: int
    bucket_minutes: int
    points: list[CompletionPoint]


class InstitutionStats(BaseModel):
    """Over the instructions created in the window (open escalations: all of them)."""

    model_config = ConfigDict(from_attributes=True)

    instructions: int
    ack_p50_ms: int | None = Field(description="created → acknowledged, median")
    ack_p95_ms: int | None
    completion_p50_ms: int | None = Field(description="created → outcome reported, median")
    completion_p95_ms: int | None
    success_rate: float | None = Field(
        description="share of finished stop-payments that stopped money"
    )
    mismatch_rate: float | None = Field(description="share answered `mismatch`")
    open_escalations: int


class InstitutionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    kind: InstitutionKind
    name_zh: str
    name_en: str
    stationed: bool
    sla_s: int
    bin_prefixes: list[str]
    breaker_state: BreakerState
    stats: InstitutionStats | None = None
    refused_callbacks: int = Field(
        default=0, description="Signed callbacks refused in the window (never applied)"
    )
    refused_latest: list[RefusedCallbackRead] = Field(
        default_factory=list,
        description="The latest refused callbacks with their reasons (supervisors and admins)",
    )
