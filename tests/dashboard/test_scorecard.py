"""The scorecard and /metrics report what the instruction rows say."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.dashboard.scorecard import scorecards
from app.dispatch.models import Instruction
from tests.factories import bearer, institution, instructions_of, make_case, make_user


def _finish(db: Session, case_no: str, *, ack_ms: int, done_ms: int, outcome: str) -> int:
    """Give every stop-payment of the case these timings and outcome; returns an institution id."""
    stops = [i for i in instructions_of(db, case_no) if i.kind == "stop_payment"]
    for stop in stops:
        stop.first_attempt_at = stop.created_at + dt.timedelta(milliseconds=5)
        stop.acked_at = stop.created_at + dt.timedelta(milliseconds=ack_ms)
        stop.completed_at = stop.created_at + dt.timedelta(milliseconds=done_ms)
        stop.state, stop.outcome = "done", outcome
    db.flush()
    return stops[0].institution_id


def test_percentiles_and_rates_per_institution(db: Session) -> None:
    cmb = institution(db, "CMB").id
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    before = scorecards(db, since=since).get(cmb)
    for ack, done, outcome in ((100, 1000, "stopped_full"), (300, 3000, "mismatch")):
        case_no = make_case(db)
        stops = [i for i in instructions_of(db, case_no) if i.kind == "stop_payment"]
        for stop in stops:
            stop.institution_id = cmb
        _finish(db, case_no, ack_ms=ack, done_ms=done, outcome=outcome)
    card = scorecards(db, since=since)[cmb]
    if before is None:  # nothing else at CMB in this database: exact figures
        assert card.instructions == 2
        assert card.ack_p50_ms == 200
        assert card.completion_p95_ms == 2900
        assert card.success_rate == 0.5
        assert card.mismatch_rate == 0.5
    assert card.ack_p95_ms is not None
    assert card.ack_p95_ms >= 100


def test_the_institutions_endpoint_carries_the_scorecard_and_breaker(
    client: TestClient, db: Session
) -> None:
    case_no = make_case(db)
    code_id = _finish(db, case_no, ack_ms=150, done_ms=900, outcome="stopped_full")
    answer = client.get("/api/v1/institutions", headers=bearer(db, make_user(db))).json()
    [row] = [i for i in answer if institution(db, i["code"]).id == code_id]
    assert row["breaker_state"] == "closed"
    assert row["stats"]["instructions"] >= 1
    assert row["stats"]["ack_p50_ms"] is not None


def test_metrics_expose_latency_histograms(client: TestClient, db: Session) -> None:
    case_no = make_case(db)
    _finish(db, case_no, ack_ms=150, done_ms=900, outcome="stopped_full")
    text = client.get("/metrics").text
    assert "# TYPE stopay_instruction_ack_seconds histogram" in text
    assert 'stopay_instruction_completion_seconds_bucket{institution="' in text
    assert "stopay_outbox_lag_seconds" in text
    assert 'stopay_instructions{institution="NFPP",state="pending"}' in text


def test_old_instructions_leave_a_card_of_zeros_and_old_escalations_still_count(
    db: Session,
) -> None:
    """The scorecard reads only its window and the open escalations (issue 19), yet says
    what it said when it grouped every instruction: an institution whose instructions are
    all older than the window has a card of zeros, and an escalation from before the window
    is still open and counted."""
    case_no = make_case(db)
    stops = [i for i in instructions_of(db, case_no) if i.kind == "stop_payment"]
    bank = stops[0].institution_id
    for stop in stops:
        stop.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    stops[0].state, stops[0].escalated_at = "escalated", stops[0].created_at
    db.flush()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    others = sum(
        1
        for i in db.scalars(select(Instruction).where(Instruction.institution_id == bank))
        if i.created_at >= since
    )
    escalated = db.scalar(
        select(func.count()).where(
            Instruction.institution_id == bank, Instruction.state == "escalated"
        )
    )
    card = scorecards(db, since=since)[bank]
    assert card.instructions == others
    assert card.open_escalations == escalated
    assert card.open_escalations >= 1
    if others == 0:  # nothing else at this bank in the window: the card is all zeros
        assert (card.ack_p50_ms, card.completion_p95_ms, card.success_rate) == (None, None, None)
