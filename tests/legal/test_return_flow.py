"""Returns through the API: propose the split of a frozen account, confirm it, record the
payment; one victim, and two victims of two cases sharing a mule account."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit
from app.cases.models import Case
from app.dashboard.deadlines import deadlines
from app.dashboard.schemas import DeadlineKind
from app.db import utcnow
from app.legal import return_service
from app.legal.models import VictimReturn
from app.legal.returns import add_working_days
from app.legal.service import LegalRules
from app.legal.watch import watch
from tests.casework import events, instructions, make_case, report, supervisor_of
from tests.factories import fresh_card_no, make_user

ZONE = ZoneInfo("Asia/Shanghai")


def _ago(minutes: int) -> str:
    return (utcnow() - dt.timedelta(minutes=minutes)).isoformat()


def _freeze(client: TestClient, db: Session, case: Case, card: str, frozen: str) -> None:
    answer = client.post(
        f"/api/v1/cases/{case.case_no}/freezes",
        headers=supervisor_of(db, case),
        json={"institution": "CCB", "account_no": card, "document_no": "D-1", "amount": frozen},
    )
    assert answer.status_code == 201, answer.text
    [freeze] = instructions(db, case, "freeze")
    outcome = "frozen_full" if Decimal(frozen) == freeze.amount_requested else "frozen_partial"
    report(client, db, freeze, outcome=outcome, amount_stopped=frozen)


def _frozen_in_full(
    client: TestClient, db: Session, amount: str
) -> tuple[Case, str, dict[str, str]]:
    """A case of one card, stopped and then frozen for the whole amount; and its supervisor."""
    card = fresh_card_no("CCB")
    case = make_case(db, (card, amount))
    [stop] = instructions(db, case)
    report(client, db, stop)
    _freeze(client, db, case, card, amount)
    return case, card, supervisor_of(db, case)


def _proposal(client: TestClient, case: Case, card: str, headers: dict[str, str]) -> Any:
    params = {"institution": "CCB", "account_no": card}
    url = f"/api/v1/cases/{case.case_no}/returns/proposal"
    return client.get(url, params=params, headers=headers)


def _confirm(
    client: TestClient, case: Case, card: str, fingerprint: str, headers: dict[str, str]
) -> Any:
    return client.post(
        f"/api/v1/cases/{case.case_no}/returns",
        headers=headers,
        json={"institution": "CCB", "account_no": card, "fingerprint": fingerprint},
    )


def test_one_victim_gets_the_frozen_money_back_and_the_case_closes(
    client: TestClient, db: Session
) -> None:
    case, card, boss = _frozen_in_full(client, db, "455400.00")

    proposal = _proposal(client, case, card, boss).json()
    assert (proposal["rule"], proposal["frozen"], proposal["total"]) == (
        "single_victim",
        "455400.00",
        "455400.00",
    )
    assert [(s["case_no"], s["amount"]) for s in proposal["shares"]] == [
        (case.case_no, "455400.00")
    ]
    assert proposal["notice_until"] is None
    stale = _confirm(client, case, card, "0" * 32, boss)
    assert stale.status_code == 409
    assert "review it again" in stale.json()["detail"]

    confirmed = _confirm(client, case, card, proposal["fingerprint"], boss)
    assert confirmed.status_code == 201, confirmed.text
    [row] = confirmed.json()
    assert (row["amount"], row["state"], row["rule"]) == ("455400.00", "confirmed", "single_victim")
    assert client.get(f"/api/v1/cases/{case.case_no}", headers=boss).json()["status"] == "returning"
    # Everything frozen is spoken for: a second split is refused, never more than frozen.
    again = _proposal(client, case, card, boss)
    assert again.status_code == 409
    assert "already been returned" in again.json()["detail"]

    paid = client.post(
        f"/api/v1/cases/{case.case_no}/returns/{row['id']}/completion",
        json={"reference": "RT-1"},
        headers=boss,
    )
    assert paid.status_code == 200, paid.text
    assert (paid.json()["state"], paid.json()["reference"]) == ("completed", "RT-1")
    shown = client.get(f"/api/v1/cases/{case.case_no}", headers=boss).json()
    assert shown["status"] == "closed"
    assert shown["totals"]["returned"] == "455400.00"
    assert [r["state"] for r in shown["returns"]] == ["completed"]
    assert [e.data["amount"] for e in events(db, case, "return.completed")] == ["455400.00"]


def _two_victims(client: TestClient, db: Session) -> tuple[Case, Case, str]:
    """A's victim paid the mule 50,000, then B's 30,000; then 40,000 left the mule."""
    mule = fresh_card_no("CCB")
    a = make_case(db, (mule, "50000.00"), occurred_at=_ago(60))
    b = make_case(db, (mule, "30000.00"), occurred_at=_ago(50))
    assert instructions(db, b) == []  # A holds the mule; B sends no stop of its own
    [stop] = instructions(db, a)
    moved = {
        "institution": "ABC",
        "account_no": fresh_card_no("ABC"),
        "holder_name": "王某",
        "amount": "40000.00",
        "occurred_at": _ago(40),
        "reference": "OUT-1",
    }
    report(
        client,
        db,
        stop,
        outcome="stopped_partial",
        amount_stopped="40000.00",
        onward_transfers=[moved],
    )
    return a, b, mule


def test_two_victims_money_traced_by_time_goes_back_by_that_trace(
    client: TestClient, db: Session
) -> None:
    a, b, mule = _two_victims(client, db)
    _freeze(client, db, a, mule, "40000.00")
    # B's supervisor sees the same split: every victim of the account, whichever case.
    boss_b = supervisor_of(db, b)
    proposal = _proposal(client, b, mule, boss_b).json()
    assert proposal["rule"] == "by_time"
    shares = {s["case_no"]: (s["traced_in"], s["amount"]) for s in proposal["shares"]}
    assert shares == {a.case_no: ("50000.00", "10000.00"), b.case_no: ("30000.00", "30000.00")}
    assert _confirm(client, b, mule, proposal["fingerprint"], boss_b).status_code == 201
    for case in (a, b):
        db.refresh(case)
        assert case.status == "returning"
        [confirmed] = events(db, case, "return.confirmed")
        assert confirmed.data["rule"] == "by_time"


def test_otherwise_the_split_is_pro_rata_after_a_thirty_day_notice(
    client: TestClient, db: Session
) -> None:
    a, b, mule = _two_victims(client, db)
    # 40,000 should be left, but the bank froze 32,000: the trail is not complete.
    _freeze(client, db, a, mule, "32000.00")
    boss = supervisor_of(db, a)
    proposal = _proposal(client, a, mule, boss).json()
    today = dt.datetime.now(ZONE).date()
    assert proposal["rule"] == "pro_rata"
    assert proposal["notice_until"] == (today + dt.timedelta(days=30)).isoformat()
    shares = {s["case_no"]: s["amount"] for s in proposal["shares"]}
    assert shares == {a.case_no: "20000.00", b.case_no: "12000.00"}
    rows = _confirm(client, a, mule, proposal["fingerprint"], boss).json()
    mine = next(r for r in rows if r["amount"] == "20000.00")
    early = client.post(
        f"/api/v1/cases/{a.case_no}/returns/{mine['id']}/completion",
        json={"reference": "RT-2"},
        headers=boss,
    )
    assert early.status_code == 409
    assert proposal["notice_until"] in early.json()["detail"]
    # After the notice the bank pays; B's return is not A's to record.
    user = make_user(db)
    later = today + dt.timedelta(days=30)
    other = db.get_one(VictimReturn, next(r["id"] for r in rows if r["id"] != mine["id"]))
    assert (
        return_service.complete(
            db, case=a, return_id=other.id, reference="X", user=user, now=utcnow(), today=later
        )
        is None
    )
    paid = return_service.complete(
        db, case=a, return_id=mine["id"], reference="RT-2", user=user, now=utcnow(), today=later
    )
    assert paid is not None
    assert paid.state == "completed"


def test_a_return_the_bank_is_late_with_is_warned_of_once_and_shown_overdue(
    client: TestClient, db: Session
) -> None:
    case, card, boss = _frozen_in_full(client, db, "60000.00")
    proposal = _proposal(client, case, card, boss).json()
    assert _confirm(client, case, card, proposal["fingerprint"], boss).status_code == 201
    [due] = db.scalars(select(VictimReturn).where(VictimReturn.case_id == case.id))
    rules = LegalRules()
    last_day = add_working_days(due.payable_from, rules.return_working_days)
    now = utcnow()

    def watched(today: dt.date) -> int:
        return watch(db, now=now, today=today, rules=rules).returns_overdue

    assert watched(last_day) == 0
    assert watched(last_day + dt.timedelta(days=1)) == 1
    assert watched(last_day + dt.timedelta(days=2)) == 0  # warned once
    [overdue] = events(db, case, "return.overdue")
    assert overdue.data == {"return_id": due.id, "amount": "60000.00", "due": last_day.isoformat()}

    # The supervisors' deadlines: due up to the bank's last working day, overdue after it.
    supervisor = make_user(db, role=Role.supervisor, unit=db.get_one(Unit, case.unit_id))

    def shown(day: dt.date) -> list[DeadlineKind]:
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=ZONE)
        found, _ = deadlines(
            db, user=supervisor, now=noon, rules=rules, timezone="Asia/Shanghai", limit=100
        )
        return [d.kind for d in found if d.return_id == due.id]

    assert shown(last_day) == [DeadlineKind.return_due]
    assert shown(last_day + dt.timedelta(days=1)) == [DeadlineKind.return_overdue]


@pytest.mark.parametrize("field", ["institution", "account_no"])
def test_a_blank_account_choice_is_a_422_naming_its_field(
    client: TestClient, db: Session, field: str
) -> None:
    # Found by schemathesis: `?institution=+` passed the query's length check, then the
    # stripped value failed the schema inside the handler: a 500.
    case, card, boss = _frozen_in_full(client, db, "1000.00")
    params = {"institution": "CCB", "account_no": card, field: " "}
    url = f"/api/v1/cases/{case.case_no}/returns/proposal"
    answer = client.get(url, params=params, headers=boss)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [f"query.{field}"]
