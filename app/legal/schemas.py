"""Requests and answers of the legal-clock endpoints."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.cases.schemas import Amount
from app.legal.models import ReturnRule

DocumentNo = Field(
    min_length=1,
    max_length=64,
    pattern=r"\S",
    description="The freeze document's number (冻结法律文书编号), "
    "e.g. 穗公（反诈）冻字〔2026〕1187号",
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountChoice(_In):
    """One of the case's accounts."""

    institution: str = Field(min_length=1, max_length=16, examples=["CCB"])
    account_no: str = Field(min_length=1, max_length=64, examples=["6217000201234567897"])


class ScanIn(_In):
    """A scanned document: PDF, PNG or JPEG, at most 5 MB, base64-encoded."""

    filename: str = Field(min_length=1, max_length=200)
    content_type: Literal["application/pdf", "image/png", "image/jpeg"]
    content_base64: str = Field(min_length=1, max_length=7_000_000)


class FreezeRequest(AccountChoice):
    """Convert the account's stop-payment into a freeze (or freeze it outright)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "institution": "CCB",
                    "account_no": "6217000201234567897",
                    "document_no": "穗公（反诈）冻字〔2026〕1187号",
                }
            ]
        }
    )

    document_no: str = DocumentNo
    amount: Amount | None = Field(
        default=None,
        description="Unset: what the stop-payment holds, or what the case traced "
        "into the account when nothing is held.",
    )
    scan: ScanIn | None = None


class RenewRequest(AccountChoice):
    """Renew what holds the account: a second stop-payment, or a freeze with a new document."""

    document_no: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Required to renew a freeze: the renewal's document number.",
    )
    scan: ScanIn | None = None


class ReleaseRequest(AccountChoice):
    """End the case's stop-payment or freeze on the account early."""

    reason: str = Field(
        min_length=1, max_length=500, pattern=r"\S", examples=["经核实为正常经营收款，依法解除"]
    )


class ReturnShareRead(BaseModel):
    case_no: str
    victim_name: str
    traced_in: Decimal = Field(description="What the victim's case traced into the account.")
    already_returned: Decimal = Field(description="Returned or confirmed to them before.")
    amount: Decimal = Field(description="Proposed now.")


class ReturnProposalRead(BaseModel):
    institution: str
    account_no: str
    frozen: Decimal = Field(description="What the account's freezes in force hold.")
    already_returned: Decimal
    rule: ReturnRule
    total: Decimal
    payable_from: dt.date
    notice_until: dt.date | None = Field(description="Pro rata only: the public notice's end.")
    shares: list[ReturnShareRead]
    fingerprint: str = Field(description="Send it back to confirm exactly this split.")


class ReturnConfirm(AccountChoice):
    fingerprint: str = Field(min_length=1, max_length=64)


class ReturnCompletion(_In):
    """The bank paid the return to the victim."""

    reference: str = Field(
        min_length=1, max_length=100, pattern=r"\S", examples=["RT20261126000042"]
    )


class ClockRead(BaseModel):
    now: dt.datetime
    frozen_at: dt.datetime | None
    offset_s: float


class ClockSet(_In):
    """Freeze the legal clock at an instant, or shift it from the real time."""

    at: AwareDatetime | None = Field(default=None, description="Freeze the clock here.")
    offset_s: float = Field(
        default=0,
        ge=-10 * 365 * 86400,
        le=10 * 365 * 86400,
        description="Otherwise run this many seconds ahead.",
    )


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


# What a legal-clock action may answer besides success (its OpenAPI `responses`).
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such case, or the account is not in this case"},
    409: {"description": "Not possible in the account's present state; the reason says why"},
}
