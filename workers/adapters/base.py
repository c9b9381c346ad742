"""The adapter interface: send an instruction; read an institution's outcome report.

The wire format is docs/institution-protocol.md. A real bank whose API differs gets its own
adapter that translates to and from these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.dispatch.models import Outcome
from app.dispatch.transitions import SendOrder


@dataclass(frozen=True)
class Ack:
    """The institution took the instruction; `reference` is its own id for it."""

    reference: str


class RetryableFailure(Exception):
    """Not taken this time (timeout, refused, 5xx, 429); send again later with the same key."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentFailure(Exception):
    """The institution will never take this request as it stands.

    `detail` is the institution's own answer. It may quote what we sent (a holder's name), so
    it goes into the instruction's record (`described`), never into a log line.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

    @property
    def described(self) -> str:
        return f"{self}: {self.detail}" if self.detail else str(self)


class Adapter(Protocol):
    """Sends run on the worker process's event loop (workers/aio.py)."""

    async def send(self, order: SendOrder, *, callback_url: str) -> Ack: ...

    async def close(self) -> None: ...


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
