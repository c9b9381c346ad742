"""What the API takes and shows of a case on its own: the report, its summary, its reveal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.cases.models import (
    CaseStatus,
    Channel,
    ContactKind,
    FraudType,
    Priority,
    TransferChannel,
    TransferSource,
)
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


class EventRead(BaseModel):
    occurred_at: dt.datetime
    kind: str
    actor_kind: str
    actor: str | None
    actor_name: str | None = Field(default=None, description="The user's display name.")
    actor_role: str | None = Field(default=None, description="The user's role.")
    instruction_id: int | None = Field(
        default=None, description="The instruction the event is about, if any."
    )
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
