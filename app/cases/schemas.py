"""Case intake and read models. Structure is checked here; the domain rules in validation.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.cases.models import (
    AccountKind,
    AccountRole,
    CaseStatus,
    Channel,
    ContactKind,
    FraudType,
    Priority,
    TransferChannel,
    TransferSource,
)
from app.dispatch.models import InstructionKind, InstructionState, Outcome
from app.params import DbId, StrictBool

MAX_AMOUNT = Decimal("100000000.00")  # 1亿 CNY in one transfer: anything above is a typo
MAX_TRANSFERS = 200
MAX_CONTACTS = 50

Amount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, decimal_places=2)]

SCENARIO_1_EXAMPLE: dict[str, Any] = {
    "received_at": "2026-11-22T09:41:00+08:00",
    "channel": "phone_call",
    "victim": {
        "name": "陈女士",
        "id_no": "11010519491231002X",
        "phone": "13800138000",
        "is_enterprise": False,
    },
    "fraud_type": "impersonate_customer_service",
    "narrative": "自称航空公司客服，称航班取消可办理改签退款，诱导通过手机银行转账。",
    "transfers": [
        {
            "occurred_at": "2026-11-22T09:20:00+08:00",
            "amount": "455400.00",
            "from": {
                "institution": "ICBC",
                "account_no": "6222020201234567893",
                "holder_name": "陈女士",
            },
            "to": {"account_no": "6217000201234567897", "holder_name": "刘某"},
            "channel": "mobile_banking",
            "reference": "MB20261122092000118",
        }
    ],
    "contacts": [{"kind": "phone", "value": "+85261234567"}],
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AccountRef(_In):
    institution: str | None = Field(
        default=None,
        max_length=16,
        description="Institution code (GET /api/v1/institutions); leave out for a bank card "
        "and the card's BIN decides.",
    )
    account_no: str = Field(min_length=1, max_length=64)
    holder_name: str | None = Field(default=None, max_length=100)


class TransferIn(_In):
    occurred_at: dt.datetime = Field(
        description="When the money left; without a zone offset, the centre's time zone."
    )
    amount: Amount = Field(description="CNY, positive, at most two decimals.")
    from_: AccountRef = Field(alias="from")
    to: AccountRef
    channel: TransferChannel = TransferChannel.other
    reference: str | None = Field(default=None, max_length=100)


class VictimIn(_In):
    name: str = Field(min_length=1, max_length=100)
    id_no: str | None = Field(default=None, max_length=32, description="Resident ID (GB 11643).")
    phone: str | None = Field(default=None, max_length=32)
    is_enterprise: StrictBool = False
    enterprise_name: str | None = Field(default=None, max_length=200)


class ContactIn(_In):
    kind: ContactKind
    value: str = Field(min_length=1, max_length=500)


class CaseCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [SCENARIO_1_EXAMPLE]})

    received_at: dt.datetime = Field(description="When the call (or visit) started.")
    channel: Channel
    victim: VictimIn
    fraud_type: FraudType
    narrative: str = Field(default="", max_length=20000)
    transfers: list[TransferIn] = Field(min_length=1, max_length=MAX_TRANSFERS)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=MAX_CONTACTS)


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


class AccountRead(BaseModel):
    account_id: int = Field(description="Names the account to `POST …/reveal`.")
    institution: str
    account_no: str = Field(
        description="A victim's own account is masked (`6222***********7893`); suspects' "
        "accounts are shown in full."
    )
    holder_name: str | None
    kind: AccountKind
    role: AccountRole
    level: int
    shared_with: list[str] = Field(description="Other cases this account appears in.")
    held_by: HoldRead | None = Field(
        default=None,
        description="Another case already stops or freezes this account, so this case sends "
        "no stop-payment of its own; that instruction's state and outcome.",
    )


class LevelRead(BaseModel):
    level: int
    accounts: list[AccountRead]


class TransferRead(BaseModel):
    occurred_at: dt.datetime
    amount: Decimal
    from_account_id: int
    from_institution: str
    from_account_no: str = Field(description="Masked when it is the victim's own account.")
    to_account_id: int
    to_institution: str
    to_account_no: str
    channel: TransferChannel
    reference: str | None
    source: TransferSource


class InstructionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: InstructionKind
    state: InstructionState
    outcome: Outcome | None
    institution: str
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


class EventRead(BaseModel):
    occurred_at: dt.datetime
    kind: str
    actor_kind: str
    actor: str | None
    data: dict[str, Any]


class ContactRead(BaseModel):
    kind: ContactKind
    value: str


class VictimRead(BaseModel):
    name: str
    id_no: str | None = Field(description="Masked: `1101**********002X`.")
    phone: str | None = Field(description="Masked: `+86 138****8000`.")
    is_enterprise: bool
    enterprise_name: str | None


class CaseSummary(BaseModel):
    case_no: str
    received_at: dt.datetime
    recorded_at: dt.datetime
    channel: Channel
    fraud_type: FraudType
    priority: Priority
    status: CaseStatus
    victim_name: str
    victim_is_enterprise: bool
    total_amount: Decimal = Field(description="What the victim reported sending.")
    unit: str
    call_taker: str


class CaseCreated(BaseModel):
    case_no: str
    priority: Priority
    status: CaseStatus
    received_at: dt.datetime
    total_amount: Decimal
    accounts: list[AccountRead]
    instructions: list[InstructionRead]


class CaseTotals(BaseModel):
    lost: Decimal = Field(description="What the victim reported sending.")
    stopped: Decimal = Field(description="Held now by stop-payments in force.")
    frozen: Decimal = Field(description="Held now by freezes in force.")
    returned: Decimal = Field(description="Paid back to the victim.")
    lapsed: Decimal = Field(description="Was held, but the hold ran out with nothing after it.")


class ReturnRead(BaseModel):
    id: int
    institution: str
    account_no: str
    amount: Decimal
    rule: str
    state: str
    payable_from: dt.date
    confirmed_at: dt.datetime
    completed_at: dt.datetime | None
    reference: str | None


class CaseRead(CaseSummary):
    victim: VictimRead
    narrative: str
    totals: CaseTotals
    levels: list[LevelRead]
    transfers: list[TransferRead]
    contacts: list[ContactRead]
    instructions: list[InstructionRead]
    returns: list[ReturnRead]
    events: list[EventRead]


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    page_size: int


class PersonalField(StrEnum):
    """A value shown masked, which a supervisor may reveal."""

    victim_id_no = "victim.id_no"
    victim_phone = "victim.phone"
    account_no = "account_no"


class RevealRequest(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"field": "victim.id_no"}, {"field": "account_no", "account_id": 1}]
        }
    )

    field: PersonalField
    account_id: DbId | None = Field(
        default=None,
        description="For `account_no`: which account of the case (`account_id` in its levels).",
    )


class Revealed(BaseModel):
    field: PersonalField
    account_id: int | None
    value: str = Field(description="The value in clear, as recorded.")


class ValidationOk(BaseModel):
    valid: bool = True
    priority: Priority = Field(description="The priority the case would get if submitted now.")
