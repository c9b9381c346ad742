"""A case whole, as the API shows it: its accounts by level with their holds, its
instructions, returns and events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from app.cases.models import (
    AccountKind,
    AccountRole,
    CaseStatus,
    Priority,
)
from app.cases.schemas import (
    CaseSummary,
    ContactRead,
    EventRead,
    TransferRead,
    VictimRead,
)
from app.dispatch.schemas import HoldRead, InstructionRead
from app.legal.schemas import ReturnRead


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
