"""The institution protocol on the wire: what an institution receives (an instruction) and
what it sends back (the outcome callback). docs/institution-protocol.md describes it; the
API reads callbacks with these models, the workers send instructions with them, and the
simulator, a peer over HTTP, keeps its own copy.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.dispatch.models import Outcome
from app.dispatch.transitions import SendOrder


class InstructionBody(BaseModel):
    """The JSON body of `POST {institution}/instructions`; its Idempotency-Key header is the
    instruction's key."""

    kind: str = Field(max_length=16)
    case_no: str = Field(max_length=64)
    account_no: str | None = Field(default=None, max_length=64)
    holder_name: str | None = Field(default=None, max_length=200)
    amount: Decimal | None = None
    transaction_time: AwareDatetime | None = None
    reference: str | None = None
    document_no: str | None = None
    callback_url: str


def instruction_body(order: SendOrder, *, callback_url: str) -> dict[str, Any]:
    """`InstructionBody` as JSON, built by hand: it is made for every send, on the hot path."""
    return {
        "kind": order.kind,
        "case_no": order.case_no,
        "account_no": order.account_no,
        "holder_name": order.holder_name,
        "amount": str(order.amount) if order.amount is not None else None,
        "transaction_time": order.transaction_time.isoformat() if order.transaction_time else None,
        "reference": None,
        "document_no": order.document_no,
        "callback_url": callback_url,
    }


# The largest amount a NUMERIC(18, 2) column holds.
MAX_MONEY = Decimal("9999999999999999.99")


class OnwardTransfer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    institution: str = Field(max_length=16)
    account_no: str = Field(min_length=1, max_length=64)
    holder_name: str | None = Field(default=None, max_length=200)
    amount: Decimal = Field(gt=0, le=Decimal("100000000.00"), decimal_places=2)
    occurred_at: AwareDatetime
    reference: str | None = Field(default=None, max_length=100)


class OutcomeReport(BaseModel):
    """`data` of an `instruction.completed` callback."""

    model_config = ConfigDict(extra="ignore")

    idempotency_key: str = Field(min_length=1, max_length=64)
    reference: str | None = Field(default=None, max_length=100)
    kind: str | None = Field(default=None, max_length=16)
    outcome: Outcome
    amount_stopped: Decimal | None = Field(default=None, ge=0, le=MAX_MONEY, decimal_places=2)
    balance: Decimal | None = Field(default=None, ge=0, le=MAX_MONEY, decimal_places=2)
    mismatch_field: str | None = Field(default=None, max_length=32)
    effective_at: AwareDatetime | None = None
    onward_transfers: list[OnwardTransfer] = Field(default_factory=list, max_length=500)
    cashed_out: Decimal | None = Field(default=None, ge=0, le=MAX_MONEY, decimal_places=2)


class CallbackEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["instruction.completed"]
    timestamp: AwareDatetime | None = None
    data: OutcomeReport


def parse_outcome(payload: Any) -> OutcomeReport:
    """The outcome in a verified callback body (raises pydantic.ValidationError if malformed)."""
    return CallbackEnvelope.model_validate(payload).data
