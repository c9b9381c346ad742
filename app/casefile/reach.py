"""The per-case interception figure: what the case holds now ÷ what was still on the suspect
accounts when the report came, as far as the institutions have reported it. Defined here
once: the case page, the supervisor's queue and the API read `interceptions`.

**Still there at the report** is added up account by account, over the accounts an
institution has reported on (the first outcome with a balance: a stop-payment, a freeze or a
query). An institution reports the balance when it processed the instruction, the onward
transfers with their times and any cash taken out, so what was on the account at the report's
time (the case's `received_at`) is

    balance then + onward transfers after the report + cash taken out − money in after the
    report,

at most the money the case traced into it before the report less what left it before.
Money that moved on after the report from one traced account to another is counted once:
in the account it left (as an onward transfer), and not again in the one it reached (as
money in after the report). An account nobody has reported on adds nothing yet. Institutions
do not say when cash was taken out, so cash counts as still there: the figure can understate
what was stopped, never overstate it.

**Held now** is the queue's and the totals' figure: stopped or frozen now, each account's
latest hold (`app.legal.holds.held_sums`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy import Numeric, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.cases.models import Case, Transfer, TransferSource
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.legal.holds import held_sums

ZERO = Decimal("0.00")
REPORTING_KINDS = (
    InstructionKind.stop_payment.value,
    InstructionKind.freeze.value,
    InstructionKind.query.value,
)
CASHED_OUT = "trace.cashed_out"


@dataclass(frozen=True)
class Move:
    """Money between two accounts of the case: a transfer the victim or an institution
    reported. `in_report`: named in the report itself (there before the report, whatever
    its time says)."""

    from_account: int
    to_account: int
    amount: Decimal
    at: dt.datetime
    in_report: bool = False


@dataclass(frozen=True)
class Report:
    """An institution's first word on an account: its balance when it processed the
    instruction (`at`), and any cash it said was taken out."""

    balance: Decimal
    at: dt.datetime
    cashed_out: Decimal = ZERO


class Interception(BaseModel):
    """Held now ÷ still on the accounts when the report came (as reported so far)."""

    held: Decimal = Field(description="Stopped or frozen now, each account's latest hold.")
    reachable: Decimal = Field(
        description="Still on the suspect accounts when the report came, as far as the "
        "institutions have reported (balance then, plus what left after the report, less "
        "what came in after it from another traced account)."
    )
    ratio: float | None = Field(
        description="held ÷ reachable, at most 1; null while nothing reported was reachable."
    )
    accounts_reported: int = Field(description="Suspect accounts an institution reported on.")


def reachable_at_report(
    *, reported_at: dt.datetime, reports: Mapping[int, Report], moves: Iterable[Move]
) -> Decimal:
    """What was still on the reported accounts at `reported_at` (see the module's words)."""
    moves = list(moves)
    total = ZERO
    for account, report in reports.items():
        came_in, went_out = ZERO, ZERO  # before the report
        later_in, later_out = ZERO, ZERO  # after the report, up to the institution's word
        for m in moves:
            before = m.in_report or m.at < reported_at
            seen = m.at <= report.at
            if m.to_account == account:
                if before:
                    came_in += m.amount
                elif seen:
                    later_in += m.amount
            if m.from_account == account:
                if before:
                    went_out += m.amount
                elif seen:
                    later_out += m.amount
        then = report.balance + report.cashed_out + later_out - later_in
        total += max(ZERO, min(came_in - went_out, then))
    return total


def interception(
    *, held: Decimal, reported_at: dt.datetime, reports: Mapping[int, Report], moves: list[Move]
) -> Interception | None:
    """The figure, or None while no institution has reported on any account."""
    if not reports:
        return None
    reachable = reachable_at_report(reported_at=reported_at, reports=reports, moves=moves)
    ratio = None if reachable <= 0 else min(1.0, float(held / reachable))
    return Interception(held=held, reachable=reachable, ratio=ratio, accounts_reported=len(reports))


def interceptions(
    db: Session,
    *,
    cases: Sequence[Case],
    now: dt.datetime,
    held: Mapping[int, Decimal] | None = None,
) -> dict[int, Interception | None]:
    """The figure of each case, in two statements however many cases (three when the caller
    has not read what each case holds already: the queue has)."""
    if not cases:
        return {}
    case_ids = [c.id for c in cases]
    if held is None:
        ids = select(Case.id).where(Case.id.in_(case_ids))
        held = {r.case_id: r.stopped + r.frozen for r in db.execute(held_sums(ids, now=now))}
    reports = _reports(db, case_ids=case_ids)
    moves: dict[int, list[Move]] = defaultdict(list)
    for t in db.execute(
        select(
            Transfer.case_id,
            Transfer.from_account_id,
            Transfer.to_account_id,
            Transfer.amount,
            Transfer.occurred_at,
            Transfer.source,
        ).where(Transfer.case_id.in_(case_ids))
    ):
        moves[t.case_id].append(
            Move(
                t.from_account_id,
                t.to_account_id,
                t.amount,
                t.occurred_at,
                in_report=t.source == TransferSource.reported.value,
            )
        )
    return {
        c.id: interception(
            held=Decimal(held.get(c.id, ZERO)),
            reported_at=c.received_at,
            reports=reports.get(c.id, {}),
            moves=moves[c.id],
        )
        for c in cases
    }


def _reports(db: Session, *, case_ids: list[int]) -> dict[int, dict[int, Report]]:
    """Each case's first report on each account: the earliest outcome with a balance (a
    `no_funds` without one counts as 0), with the cash that outcome said was taken out."""
    amount = Event.data["amount"].astext.cast(Numeric(18, 2))
    cash = (
        select(Event.instruction_id, func.sum(amount).label("amount"))
        .where(Event.case_id.in_(case_ids), Event.kind == CASHED_OUT)
        .group_by(Event.instruction_id)
        .subquery("cash")
    )
    at = func.coalesce(Instruction.effective_at, Instruction.completed_at)
    first = db.execute(
        select(
            Instruction.case_id,
            Instruction.account_id,
            func.coalesce(Instruction.balance, ZERO).label("balance"),
            at.label("at"),
            func.coalesce(cash.c.amount, ZERO).label("cashed_out"),
        )
        .outerjoin(cash, cash.c.instruction_id == Instruction.id)
        .where(
            Instruction.case_id.in_(case_ids),
            Instruction.account_id.is_not(None),
            Instruction.kind.in_(REPORTING_KINDS),
            Instruction.state.in_([InstructionState.done.value, InstructionState.expired.value]),
            (Instruction.balance.is_not(None)) | (Instruction.outcome == Outcome.no_funds.value),
        )
        .order_by(Instruction.case_id, Instruction.account_id, at, Instruction.id)
        .ext(distinct_on(Instruction.case_id, Instruction.account_id))
    )
    found: dict[int, dict[int, Report]] = defaultdict(dict)
    for r in first:
        found[r.case_id][r.account_id] = Report(r.balance, r.at, r.cashed_out)
    return found
