"""What became of each receiving account in a case, in one word: its fate.

Every account the report or a bank named below the victim's own has one. It is decided here
and nowhere else: the call-taker's status page, the supervisor's trail, the case CSV and the
API all read `case_fates`.

- The case's own stop-payment or freeze decides it while there is one (the latest, so a
  corrected resend speaks for the bounced original): waiting to be sent, sent, acknowledged,
  escalated to a phone call, or its outcome (stopped, partly stopped, frozen, nothing left,
  cashed out, details did not match, no such account, refused, released, lapsed).
- Without one, the reason the case sent none: another case holds the account (with what that
  case holds now), the money into it was below the tracing minimum, or it lies beyond the
  depth limit. Those reasons are the notes the tracer wrote on the case (app/trace).
- `not_stopped` is left for an account with neither; it says so rather than "waiting".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.cases.models import Case, CaseAccount, Transfer
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.trace.service import held_elsewhere


class Fate(StrEnum):
    waiting = "waiting"  # our instruction exists and waits to be sent
    sent = "sent"  # sent, not yet acknowledged
    acked = "acked"  # acknowledged, no outcome yet
    escalated = "escalated"  # no answer in time: the duty officer phones the desk
    stopped = "stopped"
    partly_stopped = "partly_stopped"
    frozen = "frozen"
    no_funds = "no_funds"
    cashed_out = "cashed_out"  # nothing left to stop: the bank reported cash taken out
    mismatch = "mismatch"  # refused: a detail did not match; correct and resend
    not_found = "not_found"
    refused = "refused"
    released = "released"
    lapsed = "lapsed"  # the hold ran out
    held_elsewhere = "held_elsewhere"
    below_minimum = "below_minimum"
    beyond_depth = "beyond_depth"
    not_stopped = "not_stopped"


# Fates in which the money is held, and those that still wait for the institution.
HOLDING = frozenset({Fate.stopped, Fate.partly_stopped, Fate.frozen})
OPEN = frozenset({Fate.waiting, Fate.sent, Fate.acked, Fate.escalated})
# The tracer's notes on the case that explain an account without an instruction.
NOTE_KINDS = {
    "trace.depth_limit": Fate.beyond_depth,
    "trace.below_minimum": Fate.below_minimum,
    "trace.held_by_other_case": Fate.held_elsewhere,
}
CASHED_OUT = "trace.cashed_out"
_BY_OUTCOME = {
    Outcome.stopped_full.value: Fate.stopped,
    Outcome.stopped_partial.value: Fate.partly_stopped,
    Outcome.frozen_full.value: Fate.frozen,
    Outcome.frozen_partial.value: Fate.frozen,
    Outcome.released.value: Fate.released,
    Outcome.no_funds.value: Fate.no_funds,
    Outcome.mismatch.value: Fate.mismatch,
    Outcome.account_not_found.value: Fate.not_found,
    Outcome.rejected.value: Fate.refused,
}
_HOLD_KINDS = (InstructionKind.stop_payment.value, InstructionKind.freeze.value)


class AccountFate(BaseModel):
    """One receiving account's fate in the case, with the figures that go with it."""

    fate: Fate
    amount_in: Decimal = Field(description="What this case's transfers brought into it.")
    amount_held: Decimal | None = Field(
        default=None, description="What the case's own stop-payment or freeze holds."
    )
    instruction_id: int | None = Field(
        default=None, description="The case's own stop-payment or freeze that decides it."
    )
    instruction_kind: InstructionKind | None = None
    held_by_case: str | None = Field(default=None, description="The case that holds it.")
    held_by_amount: Decimal | None = Field(
        default=None, description="What that case holds on it now (none once it ended)."
    )
    cashed_out: Decimal | None = Field(
        default=None, description="Cash the institution reported taken out of it."
    )


def case_fates(db: Session, *, case: Case, now: dt.datetime) -> dict[int, AccountFate]:
    """Each receiving account's fate in `case`, by account id."""
    levels = dict(
        db.execute(
            select(CaseAccount.account_id, CaseAccount.level).where(
                CaseAccount.case_id == case.id, CaseAccount.level > 0
            )
        ).all()
    )
    own, accounts_of = _own_holds(db, case_id=case.id)
    held = held_elsewhere(db, list(levels), case_id=case.id, now=now)
    amount_in: dict[int, Decimal] = {}
    for to_id, total in db.execute(
        select(Transfer.to_account_id, func.sum(Transfer.amount))
        .where(Transfer.case_id == case.id)
        .group_by(Transfer.to_account_id)
    ):
        amount_in[to_id] = total or Decimal(0)
    notes, cashed = _notes(db, case_id=case.id, accounts_of=accounts_of)
    return {
        account_id: decide(
            amount_in=amount_in.get(account_id, Decimal(0)),
            own=own.get(account_id),
            held=held.get(account_id),
            note=notes.get(account_id, {}),
            cashed_out=cashed.get(account_id),
        )
        for account_id in levels
    }


def decide(
    *,
    amount_in: Decimal,
    own: Instruction | None,
    held: tuple[Instruction, str] | None,
    note: dict[str, Any] | None = None,
    cashed_out: Decimal | None = None,
) -> AccountFate:
    """One account's fate from the case's own latest hold of it, another case's hold, and
    the tracer's note on it; in that order."""
    fate = AccountFate(fate=Fate.not_stopped, amount_in=amount_in)
    if own is not None:
        return _by_instruction(fate, own, cashed_out)
    if held is not None:
        other, case_no = held
        theirs = other.amount_stopped if other.state == "done" else other.amount_requested
        return fate.model_copy(
            update={"fate": Fate.held_elsewhere, "held_by_case": case_no, "held_by_amount": theirs}
        )
    return fate.model_copy(update=note or {})


def _own_holds(db: Session, *, case_id: int) -> tuple[dict[int, Instruction], dict[int, int]]:
    """The case's latest stop-payment or freeze of each account; and every instruction's
    account (a cash-out is noted on the instruction whose outcome reported it)."""
    own: dict[int, Instruction] = {}
    accounts_of: dict[int, int] = {}
    for i in db.scalars(
        select(Instruction)
        .where(Instruction.case_id == case_id, Instruction.account_id.is_not(None))
        .order_by(Instruction.id)
    ):
        assert i.account_id is not None
        accounts_of[i.id] = i.account_id
        if i.kind in _HOLD_KINDS:
            own[i.account_id] = i
    return own, accounts_of


def _notes(
    db: Session, *, case_id: int, accounts_of: dict[int, int]
) -> tuple[dict[int, dict[str, Any]], dict[int, Decimal]]:
    """The tracer's reasons for accounts it sent nothing to; and cash-outs, by account."""
    notes: dict[int, dict[str, Any]] = {}
    cashed: dict[int, Decimal] = defaultdict(Decimal)
    for kind, data, instruction_id in db.execute(
        select(Event.kind, Event.data, Event.instruction_id)
        .where(Event.case_id == case_id, Event.kind.in_([*NOTE_KINDS, CASHED_OUT]))
        .order_by(Event.id)
    ):
        if kind == CASHED_OUT:
            if instruction_id in accounts_of:
                cashed[accounts_of[instruction_id]] += Decimal(str(data.get("amount", "0")))
            continue
        for note in data.get("accounts", []):
            update: dict[str, Any] = {"fate": NOTE_KINDS[kind]}
            if kind == "trace.held_by_other_case":
                update["held_by_case"] = note.get("case_no")
            notes[int(note["account_id"])] = update
    return notes, cashed


def _by_instruction(fate: AccountFate, i: Instruction, cashed_out: Decimal | None) -> AccountFate:
    if i.released_at is not None:
        word = Fate.released
    elif i.state == InstructionState.pending.value:
        word = Fate.waiting
    elif i.state == InstructionState.sent.value:
        word = Fate.acked if i.acked_at is not None else Fate.sent
    elif i.state == InstructionState.escalated.value:
        word = Fate.escalated
    elif i.state == InstructionState.expired.value:
        word = Fate.lapsed
    else:
        word = _BY_OUTCOME.get(i.outcome or "", Fate.refused)
        if word == Fate.no_funds and cashed_out:
            word = Fate.cashed_out
    return fate.model_copy(
        update={
            "fate": word,
            "instruction_id": i.id,
            "instruction_kind": InstructionKind(i.kind),
            "amount_held": i.amount_stopped if word in HOLDING else None,
            "cashed_out": cashed_out or None,
        }
    )
