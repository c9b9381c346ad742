"""The worker's log lines name the instruction, its case and institution, and never what the
institution quoted back of the personal data we sent it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.db import utcnow
from app.dispatch.models import Instruction
from app.dispatch.transitions import escalate_overdue
from app.institutions.models import Institution
from tests.factories import instructions_of, make_case
from tests.logcapture import json_logs
from workers import dispatch

# Longer than an institution takes (64): the simulator refuses it, quoting it back.
LONG_HOLDER = "欧阳" * 33


def _stop(db: Session) -> Instruction:
    case_no = make_case(db)
    return next(i for i in instructions_of(db, case_no) if i.kind == "stop_payment")


def _case_no(db: Session, instruction: Instruction) -> str:
    return db.get_one(Case, instruction.case_id).case_no


@pytest.mark.usefixtures("in_test_transaction")
def test_a_refusal_is_logged_with_its_instruction_and_without_the_holders_name(
    db: Session, simulator_url: str
) -> None:
    stop = _stop(db)
    stop.holder_name = LONG_HOLDER
    bank = db.get_one(Institution, stop.institution_id)
    bank.adapter = {"kind": "http", "base_url": simulator_url}
    db.flush()
    case_no = _case_no(db, stop)

    with json_logs(role="worker") as captured:
        result = dispatch.send_instruction.apply(args=[stop.id])
    assert result.get() == "rejected"

    [line] = captured.about("workers.dispatch")
    assert line["message"] == f"instruction {stop.id} refused: {bank.code}: refused with 422"
    assert (line["instruction_id"], line["case_no"], line["institution"]) == (
        stop.id,
        case_no,
        bank.code,
    )
    assert LONG_HOLDER not in captured.text
    db.refresh(stop)
    assert (stop.state, stop.outcome) == ("done", "rejected")
    assert LONG_HOLDER in (stop.last_error or "")  # kept where supervisors read it


@pytest.mark.usefixtures("in_test_transaction")
def test_a_task_starts_with_no_context_left_by_the_one_before(db: Session) -> None:
    stop = _stop(db)
    dispatch.logs.bind(case_no="ZF-previous-task", instruction_id=-1)
    stop.state, stop.outcome = "done", "rejected"  # nothing to send: the task skips it
    db.flush()
    with json_logs(role="worker") as captured:
        assert dispatch.send_instruction.apply(args=[stop.id]).get() == "skipped"
        dispatch.log.info("after the task")
    [line] = captured.about("workers.dispatch")
    assert "case_no" not in line
    assert "instruction_id" not in line


def test_an_escalation_by_beat_names_its_case_instruction_and_institution(db: Session) -> None:
    stop = _stop(db)
    case_no = _case_no(db, stop)
    with json_logs(role="beat") as captured:
        # Every pending instruction is overdue a day from now; the limit takes in them all.
        escalated = escalate_overdue(db, now=utcnow() + dt.timedelta(days=1), limit=100_000)
    assert escalated >= 1
    lines = [
        line
        for line in captured.about("app.dispatch.transitions")
        if line["instruction_id"] == stop.id
    ]
    assert len(lines) == 1
    assert lines[0]["case_no"] == case_no
    assert lines[0]["institution"] == db.get_one(Institution, stop.institution_id).code
    assert "escalated" in lines[0]["message"]
