"""A case whole, as the API shows it: its accounts by level with their holds, its
instructions, returns and events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from app.casefile.fates import AccountFate
from app.casefile.reach import Interception
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
        description="A victim's own account is masked (`6222***********7893`), in every "
        "case it appears in; other accounts are shown in full."
    )
    holder_name: str | None = Field(
        description="The holder's name as this case's report or bank gave it (another case "
        "may know the account under another name)."
    )
    kind: AccountKind
    role: AccountRole
    level: int
    masked: bool = Field(
        default=False,
        description="The number is masked: the account is a victim's own, in this case or in "
        "another. `POST …/reveal` shows it in clear (audited).",
    )
    shared_with: list[str] = Field(description="Other cases this account appears in.")
    held_by: HoldRead | None = Field(
        default=None,
        description="Another case already stops or freezes this account, so this case sends "
        "no stop-payment of its own; that instruction's state and outcome.",
    )
    fate: AccountFate | None = Field(
        default=None,
        description="What became of a receiving account (none for the victim's own): "
        "the one word the status page, the trail and the CSV show too.",
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
    interception: Interception | None = Field(
        description="Held now ÷ what was still on the suspect accounts when the report came, "
        "as far as the institutions have reported it; null while none has."
    )
    levels: list[LevelRead]
    transfers: list[TransferRead]
    contacts: list[ContactRead]
    instructions: list[InstructionRead]
    returns: list[ReturnRead]
    events: list[EventRead]
