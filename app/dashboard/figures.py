"""The dashboard's figures, each defined once: the overview's tiles, the queue's columns and
the API count with these, so two panels never disagree about the same word.

- **in flight**: an instruction queued for or sent to its institution with no outcome yet;
  the machine is still on it (pending or sent).
- **escalated**: an instruction the machine gave up on (no acknowledgement within the
  institution's SLA, or the institution kept failing); a person must phone the desk. It stays
  escalated when marked handled, until an outcome arrives. Never also counted in flight.
- **open**: a case not closed; the queue lists exactly the open cases.
- **since call**: seconds from the call (the case's `received_at`) to now.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from app.cases.models import Case, CaseStatus
from app.dispatch.models import Instruction, InstructionState

IN_FLIGHT_STATES = (InstructionState.pending.value, InstructionState.sent.value)


def in_flight() -> ColumnElement[bool]:
    """The instruction is in flight (pending or sent)."""
    return Instruction.state.in_(IN_FLIGHT_STATES)


def escalated() -> ColumnElement[bool]:
    """The instruction is escalated: a person must phone."""
    return Instruction.state == InstructionState.escalated.value


def open_case() -> ColumnElement[bool]:
    """The case is open: not closed."""
    return Case.status != CaseStatus.closed.value


def since_call_s(received_at: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds since the call; never negative (a clock set back shows 0)."""
    return max(0, int((now - received_at).total_seconds()))


def instruction_counts(where: Any) -> Select[int, int]:
    """(in flight, escalated) over the instructions of the cases matching `where`."""
    return (
        select(func.count().filter(in_flight()), func.count().filter(escalated()))
        .join(Case, Case.id == Instruction.case_id)
        # Only the rows counted, through the state index: not a year of finished ones.
        .where(where, or_(in_flight(), escalated()))
    )


def instruction_counts_by_case(case_ids: Select[int]) -> Select[int, int, int]:
    """Per case of `case_ids`: (case_id, in flight, escalated)."""
    return (
        select(
            Instruction.case_id,
            func.count().filter(in_flight()),
            func.count().filter(escalated()),
        )
        .where(Instruction.case_id.in_(case_ids))
        .group_by(Instruction.case_id)
    )


def open_cases(where: Any) -> Select[int]:
    """How many open cases match `where`."""
    return select(func.count()).select_from(Case).where(open_case(), where)
