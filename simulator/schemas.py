"""What the simulator's HTTP peers send it: instructions (section 1) and admin requests."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal, Self

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.live import LiveParameters


class Kind(StrEnum):
    stop_payment = "stop_payment"
    freeze = "freeze"
    query = "query"
    release = "release"
    register = "register"


class InstructionIn(BaseModel):
    """One instruction, as an adapter sends it. Unknown fields are ignored, as a bank would."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Kind
    case_no: str = Field(min_length=1, max_length=64)
    account_no: str | None = Field(default=None, min_length=1, max_length=64)
    holder_name: str | None = Field(default=None, max_length=64)
    amount: Decimal | None = Field(default=None, gt=0, max_digits=16, decimal_places=2)
    transaction_time: AwareDatetime | None = None
    reference: str | None = Field(default=None, max_length=128)
    document_no: str | None = Field(default=None, max_length=128)
    callback_url: str | None = Field(default=None, max_length=2048)

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a URL: {exc}") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _fields_the_kind_needs(self) -> Self:
        needs: dict[Kind, tuple[str, ...]] = {
            Kind.stop_payment: ("account_no", "amount"),
            Kind.freeze: ("account_no", "amount", "document_no"),
            Kind.query: ("account_no",),
            Kind.release: ("account_no",),
            Kind.register: ("amount",),
        }
        missing = [name for name in needs[self.kind] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.kind.value} needs {', '.join(missing)}")
        return self


class OutageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    institution: str
    mode: Literal["refuse", "hang", "error"]
    seconds: float | None = Field(default=None, gt=0)


class CallbacksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["normal", "fail"]
    seconds: float | None = Field(default=None, gt=0)


class LiveIn(BaseModel):
    """A live-money schedule to draw and play (`POST /admin/live`)."""

    model_config = ConfigDict(extra="forbid")

    seed: int
    # The victim's last transfer; may be in the past (the case reported minutes later).
    t0: AwareDatetime | None = None
    parameters: LiveParameters = Field(default_factory=LiveParameters)
