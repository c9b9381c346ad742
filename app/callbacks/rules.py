"""What an outcome may say about its instruction: checked before anything of it is applied.

The same table is in docs/institution-protocol.md ("Checks on an outcome"). Every check is
arithmetic on the instruction row already loaded and locked: no query.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.cases.validation import FieldProblem
from app.dispatch.models import Instruction, InstructionKind, Outcome
from app.dispatch.wire import OutcomeReport
from app.i18n import N_, Named

K, OC = InstructionKind, Outcome
REFUSALS = frozenset({OC.mismatch, OC.account_not_found, OC.rejected})
# The outcomes an institution may answer to each kind of instruction.
ALLOWED: dict[InstructionKind, frozenset[Outcome]] = {
    K.stop_payment: frozenset({OC.stopped_full, OC.stopped_partial, OC.no_funds}) | REFUSALS,
    K.freeze: frozenset({OC.frozen_full, OC.frozen_partial, OC.no_funds}) | REFUSALS,
    K.release: frozenset({OC.released, OC.account_not_found, OC.rejected}),
    K.register: frozenset({OC.registered, OC.rejected}),
    K.query: frozenset({OC.answered}) | REFUSALS,
}
HELD = frozenset({OC.stopped_full, OC.stopped_partial, OC.frozen_full, OC.frozen_partial})
FULL = frozenset({OC.stopped_full, OC.frozen_full})
AMOUNT = "data.amount_stopped"


def check_outcome(
    instruction: Instruction, report: OutcomeReport, *, now: dt.datetime, skew: dt.timedelta
) -> list[FieldProblem]:
    """Every rule `report` breaks for `instruction`, by field (empty: it may be applied)."""
    problems: list[FieldProblem] = []
    if report.kind is not None and report.kind != instruction.kind:
        problems.append(
            FieldProblem("data.kind", N_("callback.kind_mismatch"), {"kind": instruction.kind})
        )
    allowed = ALLOWED[InstructionKind(instruction.kind)]
    if report.outcome not in allowed:
        names = ", ".join(sorted(o.value for o in allowed))
        problems.append(
            FieldProblem(
                "data.outcome",
                N_("callback.outcome_not_allowed"),
                {"kind": instruction.kind, "allowed": names},
            )
        )
        return problems
    problems.extend(amount_problems(instruction.amount_requested, report))
    earliest = (instruction.first_attempt_at or instruction.created_at) - skew
    latest = now + skew
    at = report.effective_at
    if at is not None and not earliest <= at <= latest:
        problems.append(
            FieldProblem(
                "data.effective_at",
                N_("callback.time_range"),
                {
                    "earliest": earliest.isoformat(timespec="seconds"),
                    "latest": latest.isoformat(timespec="seconds"),
                },
            )
        )
    return problems


def amount_problems(asked: Decimal | None, report: OutcomeReport) -> list[FieldProblem]:
    """What the outcome's sums break for an instruction that asked for `asked` (the
    conformance kit holds an institution's callbacks to the same rules)."""
    got, outcome = report.amount_stopped, report.outcome
    problems: list[FieldProblem] = []
    if outcome in HELD:
        if got is None or got <= 0:
            problems.append(FieldProblem(AMOUNT, N_("callback.amount_required")))
        elif asked is not None and got > asked:
            problems.append(
                FieldProblem(AMOUNT, N_("callback.amount_over_asked"), {"asked": f"{asked:.2f}"})
            )
        elif asked is not None and (got == asked) != (outcome in FULL):
            problems.append(
                FieldProblem(
                    AMOUNT,
                    N_("callback.amount_full_partial"),
                    {"asked": f"{asked:.2f}", "outcome": outcome.value},
                )
            )
    elif outcome == OC.released:
        if got is not None and asked is not None and got > asked:
            problems.append(
                FieldProblem(AMOUNT, N_("callback.amount_over_asked"), {"asked": f"{asked:.2f}"})
            )
    elif got:
        problems.append(
            FieldProblem(AMOUNT, N_("callback.amount_not_zero"), {"outcome": outcome.value})
        )
    return problems + _against_balance(report)


def _against_balance(report: OutcomeReport) -> list[FieldProblem]:
    """`balance` is what this case could hold (money nobody holds plus the case's own holds,
    never another case's): a bank holds `min(balance, asked)`. So nothing more than the
    balance, a partial hold of all of it, and `no_funds` only on an empty balance."""
    got, balance, outcome = report.amount_stopped, report.balance, report.outcome
    if balance is None:
        return []
    shown: dict[str, str | Named] = {"balance": f"{balance:.2f}"}
    if got is not None and got > balance:
        return [FieldProblem(AMOUNT, N_("callback.amount_over_balance"), shown)]
    if outcome in HELD - FULL and got is not None and got < balance:
        return [FieldProblem(AMOUNT, N_("callback.amount_under_balance"), shown)]
    if outcome == OC.no_funds and balance > 0:
        return [FieldProblem("data.balance", N_("callback.balance_with_no_funds"), shown)]
    return []


# Outcomes of these kinds may report where money went; those transfers are followed.
FOLLOWED_KINDS = (InstructionKind.stop_payment, InstructionKind.query, InstructionKind.freeze)


NOTHING_SEEN = (Outcome.mismatch, Outcome.account_not_found, Outcome.rejected)


def follows(instruction: Instruction, report: OutcomeReport) -> bool:
    """Whether the onward transfers this outcome reports are followed (and so checked)."""
    return instruction.kind in FOLLOWED_KINDS and report.outcome not in NOTHING_SEEN
