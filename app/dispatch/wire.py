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
    instruction's key. Every field is always sent; those that do not apply are null."""

    kind: str = Field(
        max_length=16,
        description="`stop_payment`, `freeze`, `query`, `release` or `register` (national "
        "platform only)",
    )
    case_no: str = Field(max_length=64, description="Our case number")
    account_no: str | None = Field(
        max_length=64, description="The account to act on; null for `register`"
    )
    holder_name: str | None = Field(
        max_length=200, description="Its holder as the report names them; null for `register`"
    )
    amount: Decimal | None = Field(
        description="What to stop or freeze (the sum that came in); the case's total loss "
        "for `register`; null for `query`"
    )
    transaction_time: AwareDatetime | None = Field(
        description="When the (latest) transfer in happened, with a UTC offset; null for `register`"
    )
    reference: str | None = Field(description="Reserved; null")
    document_no: str | None = Field(description="The freeze document's number (`freeze`)")
    callback_url: str = Field(description="Where to POST the outcome (the callback operation)")


class InstructionAccepted(BaseModel):
    """An institution's 202 to an instruction: the adapters keep `reference`."""

    reference: str = Field(description="The institution's own reference for the instruction")
    status: Literal["accepted"] = Field(default="accepted", description="Always `accepted`")


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
    """A transfer out of the account since the money came in: we follow it to the next
    level. The receiving account is checked as intake checks one: an institution that holds
    accounts (not the national platform) and, at a bank, a card number with that bank's BIN
    and a right check digit."""

    model_config = ConfigDict(extra="ignore")

    institution: str = Field(max_length=16, description="The receiving institution's code")
    account_no: str = Field(min_length=1, max_length=64, description="The receiving account")
    holder_name: str | None = Field(
        default=None, max_length=200, description="The receiving account's holder"
    )
    amount: Decimal = Field(
        gt=0,
        le=Decimal("100000000.00"),
        decimal_places=2,
        description="What left, as a decimal string with two decimals at most",
    )
    occurred_at: AwareDatetime = Field(description="When it left, with a UTC offset")
    reference: str | None = Field(
        default=None, max_length=100, description="The institution's reference for it"
    )


class OutcomeReport(BaseModel):
    """`data` of an `instruction.completed` callback."""

    model_config = ConfigDict(extra="ignore")

    idempotency_key: str = Field(
        min_length=1, max_length=64, description="The instruction's Idempotency-Key"
    )
    reference: str | None = Field(
        default=None, max_length=100, description="The institution's own reference"
    )
    kind: str | None = Field(
        default=None,
        max_length=16,
        description="The instruction's kind; when given, it must be the instruction's",
    )
    outcome: Outcome = Field(description="What happened; the kinds allow different outcomes")
    amount_stopped: Decimal | None = Field(
        default=None,
        ge=0,
        le=MAX_MONEY,
        decimal_places=2,
        description="Stopped, frozen or given back: the amount asked for `*_full`, above 0 and "
        "below it for `*_partial` (all of `balance`), at most the amount asked for `released`; "
        "`0.00` or null when nothing was. Never more than `balance`",
    )
    balance: Decimal | None = Field(
        default=None,
        ge=0,
        le=MAX_MONEY,
        decimal_places=2,
        description="What this case could hold on the account before the instruction (money "
        "nobody holds, plus this case's own holds); `0.00` or null with `no_funds`",
    )
    mismatch_field: str | None = Field(
        default=None,
        max_length=32,
        description="With `mismatch`: `holder_name`, `account_no`, `amount` or `transaction_time`",
    )
    effective_at: AwareDatetime | None = Field(
        default=None, description="When it took effect, with a UTC offset"
    )
    onward_transfers: list[OnwardTransfer] = Field(
        default_factory=list,
        max_length=500,
        description="Transfers out of the account since the money came in (`stop_payment`, "
        "`freeze` and `query`); we follow them to the next level",
    )
    cashed_out: Decimal | None = Field(
        default=None,
        ge=0,
        le=MAX_MONEY,
        decimal_places=2,
        description="Withdrawn in cash: where the trail ends",
    )


class CallbackEnvelope(BaseModel):
    """The body of an outcome callback (Standard Webhooks), signed as sent."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["instruction.completed"] = Field(description="The event's type")
    timestamp: AwareDatetime | None = Field(
        default=None, description="When the event happened, with a UTC offset"
    )
    data: OutcomeReport = Field(description="The outcome")


CallbackStatus = Literal["applied", "duplicate", "ignored"]


class CallbackAnswer(BaseModel):
    """Our 200 to a callback. `applied`: recorded now. `duplicate`: this webhook-id, or this
    very outcome, is on record already; nothing changed. `ignored`: the instruction expired
    before the outcome came (`reason`), nothing changed."""

    status: CallbackStatus = Field(description="What we did with the outcome")
    reason: Literal["instruction_expired"] | None = Field(
        default=None, description="Why an outcome was ignored"
    )


def parse_outcome(payload: Any) -> OutcomeReport:
    """The outcome in a verified callback body (raises pydantic.ValidationError if malformed)."""
    return CallbackEnvelope.model_validate(payload).data
