"""The dashboard's API on the real database: figures, queue, deadlines, escalations, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, Unit, User
from app.cases.models import Case
from app.dashboard.exports import to_csv
from app.db import utcnow
from tests.casework import instructions, make_case, report, supervisor_of
from tests.factories import bearer, fresh_card_no, make_user

DASHBOARD = ["overview", "queue", "deadlines", "escalations", "completion"]


def _get(client: TestClient, path: str, headers: dict[str, str]) -> Any:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("panel", DASHBOARD)
def test_a_call_taker_is_refused_every_panel(client: TestClient, db: Session, panel: str) -> None:
    headers = {**bearer(db, make_user(db, role=Role.call_taker)), "Accept-Language": "zh-CN"}
    answer = client.get(f"/api/v1/dashboard/{panel}", headers=headers)
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert "supervisor" in answer.json()["detail"]


def _stopped(client: TestClient, db: Session, case: Case, *, hours_ago: float = 0) -> None:
    when = utcnow() - dt.timedelta(hours=hours_ago)
    for stop in instructions(db, case):
        report(client, db, stop, effective_at=when.isoformat())


def test_overview_counts_todays_cases_money_and_the_median_time_to_first_stop(
    client: TestClient, db: Session
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "30000.00"), (fresh_card_no("ABC"), "20000.00"))
    boss = supervisor_of(db, case)
    before = _get(client, "/api/v1/dashboard/overview", boss)
    assert before["cases_received"] == 1
    assert before["instructions_in_flight"] == 3  # two stop-payments and the registration
    assert (before["lost"], before["stopped"], before["first_stop_p50_s"]) == (
        "50000.00",
        "0.00",
        None,
    )

    first, second = instructions(db, case)
    report(
        client, db, first, effective_at=(case.received_at + dt.timedelta(seconds=90)).isoformat()
    )
    report(
        client,
        db,
        second,
        outcome="stopped_partial",
        amount_stopped="5000.00",
        effective_at=(case.received_at + dt.timedelta(seconds=300)).isoformat(),
    )
    after = _get(client, "/api/v1/dashboard/overview", boss)
    assert after["instructions_in_flight"] == 1
    assert first.amount_requested is not None
    assert Decimal(after["stopped"]) == first.amount_requested + Decimal("5000.00")
    assert after["first_stop_p50_s"] == 90.0  # the earliest stop of the case, not the mean


def test_queue_puts_priority_first_then_the_oldest_call_with_shared_accounts(
    client: TestClient, db: Session
) -> None:
    shared = fresh_card_no("CCB")
    low = make_case(db, (shared, "2000.00"), minutes_ago=60 * 30)
    boss = supervisor_of(db, low)
    unit = db.get_one(Unit, low.unit_id)
    taker = make_user(db, unit=unit)
    # Same unit, a bigger loss (higher priority), and the shared card again.
    high = _case_of(db, taker, (shared, "150000.00"), (fresh_card_no("ABC"), "1000.00"))
    queue = _get(client, "/api/v1/dashboard/queue", boss)
    assert queue["total"] == 2
    first, second = queue["items"]
    assert (first["case_no"], second["case_no"]) == (high.case_no, low.case_no)
    assert first["priority"] in {"special", "high"}
    assert second["priority"] in {"medium", "low"}
    assert (first["shared_accounts"], second["shared_accounts"]) == (1, 1)
    assert first["since_call_s"] >= 120
    assert first["first_stop_s"] is None

    _stopped(client, db, high)
    [item] = list(_get(client, "/api/v1/dashboard/queue?limit=1", boss)["items"])
    assert (
        item["held"] == "1000.00"
    )  # the shared card is stopped by the other case and item["first_stop_s"] is not None


def _case_of(db: Session, user: User, *to: tuple[str, str]) -> Case:
    from zoneinfo import ZoneInfo

    from app.casefile.create import create_case
    from app.cases.schemas import CaseCreate
    from tests.factories import case_payload, transfer_payload

    transfers = [
        transfer_payload(to={"account_no": n, "holder_name": "刘某"}, amount=a) for n, a in to
    ]
    data = CaseCreate.model_validate(case_payload(transfers=transfers))
    _, created = create_case(db, data=data, user=user, zone=ZoneInfo("Asia/Shanghai"))
    return db.scalars(select(Case).where(Case.case_no == created.case_no)).one()


def test_queue_limit_is_checked_field_by_field(client: TestClient, db: Session) -> None:
    boss = bearer(db, make_user(db, role=Role.supervisor))
    answer = client.get("/api/v1/dashboard/queue?limit=0", headers=boss)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "query.limit"


def test_deadlines_name_the_lapsing_stop_and_its_action_and_drop_it_once_frozen(
    client: TestClient, db: Session
) -> None:
    card = fresh_card_no("CCB")
    case = make_case(db, (card, "50000.00"))
    _stopped(client, db, case, hours_ago=44)  # 4 hours left of 48
    calm = make_case(db, (fresh_card_no("ABC"), "9000.00"))
    _stopped(client, db, calm)  # 48 hours left: not due
    boss = supervisor_of(db, case)
    answer = _get(client, "/api/v1/dashboard/deadlines", boss)
    [due] = answer["items"]
    assert (due["kind"], due["action"], due["case_no"]) == ("lapsing", "freeze", case.case_no)
    assert (due["institution"], due["account_no"], due["amount"]) == ("CCB", card, "50000.00")
    left = dt.datetime.fromisoformat(due["deadline"]) - utcnow()
    assert dt.timedelta(hours=3.9) < left < dt.timedelta(hours=4)

    body = {"institution": "CCB", "account_no": card, "document_no": "穗公冻字〔2026〕1号"}
    frozen = client.post(f"/api/v1/cases/{case.case_no}/freezes", json=body, headers=boss)
    assert frozen.status_code == 201, frozen.text
    after = _get(client, "/api/v1/dashboard/deadlines", boss)
    assert after["items"] == []
    assert after["counts"]["lapsing"] == 0


def test_a_lapsed_stop_is_listed_with_freeze_as_its_action(client: TestClient, db: Session) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "8000.00"))
    _stopped(client, db, case, hours_ago=49)
    [stop] = instructions(db, case)
    stop.state = "expired"  # what beat's watch does at the deadline
    db.flush()
    [due] = _get(client, "/api/v1/dashboard/deadlines", supervisor_of(db, case))["items"]
    assert (due["kind"], due["action"], due["instruction_id"]) == ("lapsed", "freeze", stop.id)


def _escalate(db: Session, case: Case) -> int:
    [stop] = instructions(db, case)
    # Escalated by a worker's earlier transaction (this test's now() is its start).
    stop.state, stop.attempts = "escalated", 4
    stop.escalated_at = utcnow() - dt.timedelta(minutes=3)
    stop.last_error, stop.last_failure = "CCB: no answer in time (TimeoutError)", "timeout"
    db.flush()
    return stop.id


def test_escalations_show_the_desk_to_phone_and_handled_is_audited_once(
    client: TestClient, db: Session
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "8000.00"))
    instruction_id = _escalate(db, case)
    boss = supervisor_of(db, case)
    [item] = _get(client, "/api/v1/dashboard/escalations", boss)
    assert (item["instruction_id"], item["institution"]) == (instruction_id, "CCB")
    assert item["contact"]["phone"] == "95533"
    assert (item["contact"]["desk_zh"], item["contact"]["desk_en"]) == (
        "建设银行反诈专席",
        "CCB anti-fraud desk",
    )
    assert item["last_error"] == "CCB: no answer in time (TimeoutError)"
    assert item["failure"] == "timeout"
    assert item["handled_at"] is None
    assert _get(client, "/api/v1/dashboard/overview", boss)["escalations_open"] == 1

    url = f"/api/v1/dashboard/escalations/{instruction_id}/handled"
    done = client.post(url, json={"note": "Phoned the CCB desk"}, headers=boss)
    assert done.status_code == 200, done.text
    assert done.json()["note"] == "Phoned the CCB desk"
    assert done.json()["handled_by"]
    [event] = db.scalars(
        select(Event).where(
            Event.kind == "escalation.handled", Event.instruction_id == instruction_id
        )
    )
    assert event.actor_user_id is not None
    assert event.data["note"] == "Phoned the CCB desk"
    again = client.post(url, json={"note": "twice"}, headers=boss)
    assert again.status_code == 409


def test_handled_refuses_bad_input_with_fields_and_unknown_or_unescalated_instructions(
    client: TestClient, db: Session
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "8000.00"))
    boss = supervisor_of(db, case)
    [stop] = instructions(db, case)
    url = f"/api/v1/dashboard/escalations/{stop.id}/handled"
    blank = client.post(url, json={"note": "  "}, headers=boss)
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "note"
    assert client.post(url, json={"note": "x"}, headers=boss).status_code == 409
    stranger = bearer(db, make_user(db, role=Role.supervisor))  # another unit: cannot see it
    assert client.post(url, json={"note": "x"}, headers=stranger).status_code == 404


def test_the_case_exports_as_csv_with_formulas_defused(client: TestClient, db: Session) -> None:
    card = fresh_card_no("CCB")
    case = make_case(db, (card, "8000.00"))
    answer = client.get(f"/api/v1/cases/{case.case_no}/export.csv", headers=supervisor_of(db, case))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert {(r["kind"], r["account_no"], r["amount_requested"]) for r in rows} == {
        ("stop_payment", card, "8000.00"),
        ("register", "", "8000.00"),
    }
    assert to_csv(["name"], [["=HYPERLINK(1)"]]).splitlines()[1] == "'=HYPERLINK(1)"


def test_the_scorecard_exports_as_csv_and_call_takers_cannot(
    client: TestClient, db: Session
) -> None:
    boss = bearer(db, make_user(db, role=Role.supervisor))
    answer = client.get("/api/v1/institutions/export.csv", headers=boss)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert {"ICBC", "ALIPAY", "NFPP"} <= {r["code"] for r in rows}
    taker = bearer(db, make_user(db))
    assert client.get("/api/v1/institutions/export.csv", headers=taker).status_code == 403
