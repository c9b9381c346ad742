"""Renewal, freeze and release through the API, and beat's watch over the legal clock."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.db import utcnow
from app.legal.holds import hold_totals
from app.legal.service import LegalRules
from app.legal.watch import watch
from tests.casework import events, instructions, make_case, report, supervisor_of
from tests.factories import bearer, fresh_card_no, make_user

# The API keeps the legal clock on the real time: the stops confirm long enough ago that
# every outcome below (up to T + 30 h) has already taken effect, as a real one must have.
T = utcnow().replace(second=0, microsecond=0) - dt.timedelta(hours=31)
RULES = LegalRules()
PDF = base64.b64encode(b"%PDF-1.4 freeze decision").decode()


def _stopped_case(client: TestClient, db: Session, amount: str = "50000.00") -> tuple[Case, str]:
    card = fresh_card_no("CCB")
    case = make_case(db, (card, amount))
    [stop] = instructions(db, case)
    report(client, db, stop, effective_at=T.isoformat())
    return case, card


def _post(
    client: TestClient, case: Case, what: str, body: Mapping[str, object], headers: dict[str, str]
) -> dict[str, object]:
    answer = client.post(f"/api/v1/cases/{case.case_no}/{what}", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, object] = answer.json()
    return result


def _watch(db: Session, now: dt.datetime) -> tuple[int, int, int, int]:
    done = watch(db, now=now, today=now.date(), rules=RULES)
    return done.lapse_warnings, done.freeze_warnings, done.lapsed, done.ended


def test_a_stop_payment_is_renewed_once_from_the_end_of_the_first_and_a_third_is_refused(
    client: TestClient, db: Session
) -> None:
    case, card = _stopped_case(client, db)
    boss = supervisor_of(db, case)
    body = {"institution": "CCB", "account_no": card}
    renewal = _post(client, case, "renewals", body, boss)
    [first, second] = instructions(db, case)
    assert (renewal["kind"], renewal["parent_id"]) == ("stop_payment", first.id)
    assert second.amount_requested == Decimal("50000.00")
    # Confirmed an hour in: it runs from the end of the first, not from now.
    report(client, db, second, effective_at=(T + dt.timedelta(hours=1)).isoformat())
    db.refresh(second)
    assert second.expires_at == T + dt.timedelta(hours=96)

    third = client.post(f"/api/v1/cases/{case.case_no}/renewals", json=body, headers=boss)
    assert third.status_code == 409
    assert "at most 2 times" in third.json()["detail"]
    chinese = client.post(
        f"/api/v1/cases/{case.case_no}/renewals",
        json=body,
        headers={**boss, "Accept-Language": "zh-CN"},
    )
    assert "最多止付 2 次" in chinese.json()["detail"]
    assert len(instructions(db, case)) == 2
    [requested] = events(db, case, "hold.renewal_requested")
    assert requested.data["renews"] == first.id


def test_a_renewal_waits_for_the_one_under_way(client: TestClient, db: Session) -> None:
    case, card = _stopped_case(client, db)
    boss = supervisor_of(db, case)
    body = {"institution": "CCB", "account_no": card}
    _post(client, case, "renewals", body, boss)
    again = client.post(f"/api/v1/cases/{case.case_no}/renewals", json=body, headers=boss)
    assert again.status_code == 409
    assert "still under way" in again.json()["detail"]


def test_a_freeze_converts_the_stop_needs_its_document_and_keeps_the_scan(
    client: TestClient, db: Session
) -> None:
    case, card = _stopped_case(client, db, "80000.00")
    boss = supervisor_of(db, case)
    url = f"/api/v1/cases/{case.case_no}/freezes"
    body: dict[str, object] = {"institution": "CCB", "account_no": card}
    missing = client.post(url, json=body, headers=boss)
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["document_no"]
    wrong = {
        **body,
        "document_no": "冻字〔2026〕1187号",
        "scan": {"filename": "a.png", "content_type": "image/png", "content_base64": PDF},
    }
    refused = client.post(url, json=wrong, headers=boss)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "scan.content_type"
    assert instructions(db, case, "freeze") == []

    scan = {"filename": "冻结决定书.pdf", "content_type": "application/pdf", "content_base64": PDF}
    frozen = _post(
        client, case, "freezes", {**body, "document_no": "冻字〔2026〕1187号", "scan": scan}, boss
    )
    [stop] = instructions(db, case)
    assert (frozen["kind"], frozen["parent_id"]) == ("freeze", stop.id)
    assert (frozen["amount_requested"], frozen["document_no"]) == ("80000.00", "冻字〔2026〕1187号")
    document = client.get(
        f"/api/v1/cases/{case.case_no}/documents/{frozen['document_id']}", headers=boss
    )
    assert (document.status_code, document.content) == (200, base64.b64decode(PDF))
    assert document.headers["content-type"] == "application/pdf"
    # Only through its own case, even for a supervisor who sees the other case too.
    other, _ = _stopped_case(client, db)
    other.unit_id = case.unit_id
    db.flush()
    elsewhere = client.get(
        f"/api/v1/cases/{other.case_no}/documents/{frozen['document_id']}", headers=boss
    )
    assert elsewhere.status_code == 404
    assert client.get(f"/api/v1/cases/{other.case_no}", headers=boss).status_code == 200
    db.refresh(case)
    assert case.status == "freezing"

    [freeze] = instructions(db, case, "freeze")
    report(
        client,
        db,
        freeze,
        outcome="frozen_full",
        amount_stopped="80000.00",
        effective_at=(T + dt.timedelta(hours=30)).isoformat(),
    )
    db.refresh(freeze)
    assert freeze.expires_at == T + dt.timedelta(hours=30, days=180)
    shown = client.get(f"/api/v1/cases/{case.case_no}", headers=boss).json()
    assert shown["status"] == "frozen"
    assert shown["totals"] == {
        "lost": "80000.00",
        "stopped": "0.00",
        "frozen": "80000.00",
        "returned": "0.00",
        "lapsed": "0.00",
    }
    again = client.post(url, json={**body, "document_no": "X-2"}, headers=boss)
    assert again.status_code == 409
    assert "already frozen" in again.json()["detail"]
    # A freeze is renewed with a new document; without one the field is named.
    no_document = client.post(f"/api/v1/cases/{case.case_no}/renewals", json=body, headers=boss)
    assert no_document.status_code == 422
    assert no_document.json()["errors"][0]["field"] == "document_no"
    renewed = _post(client, case, "renewals", {**body, "document_no": "续冻字〔2027〕0042号"}, boss)
    assert (renewed["kind"], renewed["parent_id"]) == ("freeze", freeze.id)


def test_only_supervisors_freeze_and_only_the_case_accounts(
    client: TestClient, db: Session
) -> None:
    case, card = _stopped_case(client, db)
    body = {"institution": "CCB", "account_no": card, "document_no": "D-1"}
    call_taker = bearer(db, make_user(db))
    url = f"/api/v1/cases/{case.case_no}/freezes"
    assert client.post(url, json=body, headers=call_taker).status_code == 403
    other = {**body, "account_no": fresh_card_no("CCB")}
    assert client.post(url, json=other, headers=supervisor_of(db, case)).status_code == 404


def test_a_release_ends_the_hold_once_the_institution_confirms_it(
    client: TestClient, db: Session
) -> None:
    case, card = _stopped_case(client, db)
    boss = supervisor_of(db, case)
    body = {"institution": "CCB", "account_no": card, "reason": "经核实为正常经营收款"}
    released = _post(client, case, "releases", body, boss)
    [stop] = instructions(db, case)
    assert (released["kind"], released["parent_id"]) == ("release", stop.id)
    [release] = instructions(db, case, "release")
    report(client, db, release, outcome="released", amount_stopped="50000.00", balance=None)
    db.refresh(stop)
    assert stop.released_at is not None
    assert hold_totals(db, case_id=case.id, now=T + dt.timedelta(hours=1)).stopped == 0
    [asked] = events(db, case, "hold.release_requested")
    assert asked.data["reason"] == "经核实为正常经营收款"
    nothing = client.post(f"/api/v1/cases/{case.case_no}/releases", json=body, headers=boss)
    assert nothing.status_code == 409
    # A released hold never lapses: the watch leaves it alone.
    assert _watch(db, T + dt.timedelta(hours=49)) == (0, 0, 0, 0)


def test_the_watch_warns_six_hours_ahead_then_marks_the_lapse_once(
    client: TestClient, db: Session
) -> None:
    case, _ = _stopped_case(client, db)
    [stop] = instructions(db, case)
    assert _watch(db, T + dt.timedelta(hours=41)) == (0, 0, 0, 0)
    assert _watch(db, T + dt.timedelta(hours=43)) == (1, 0, 0, 0)
    assert _watch(db, T + dt.timedelta(hours=43)) == (0, 0, 0, 0)
    [warning] = events(db, case, "hold.lapse_warning")
    assert (warning.instruction_id, warning.data["hours_left"]) == (stop.id, 5.0)

    assert _watch(db, T + dt.timedelta(hours=48, seconds=1)) == (0, 0, 1, 0)
    assert _watch(db, T + dt.timedelta(hours=49)) == (0, 0, 0, 0)
    db.refresh(stop)
    assert stop.state == "expired"
    [lapsed] = events(db, case, "hold.lapsed")
    assert lapsed.data["amount"] == "50000.00"
    totals = hold_totals(db, case_id=case.id, now=T + dt.timedelta(hours=49))
    assert (totals.stopped, totals.lapsed) == (Decimal(0), Decimal("50000.00"))


def test_a_renewed_stop_ends_without_lapsing_and_without_a_warning(
    client: TestClient, db: Session
) -> None:
    case, card = _stopped_case(client, db)
    _post(
        client,
        case,
        "renewals",
        {"institution": "CCB", "account_no": card},
        supervisor_of(db, case),
    )
    first, second = instructions(db, case)
    report(client, db, second, effective_at=(T + dt.timedelta(hours=2)).isoformat())
    assert _watch(db, T + dt.timedelta(hours=44)) == (0, 0, 0, 0)
    assert _watch(db, T + dt.timedelta(hours=48, seconds=1)) == (0, 0, 0, 1)
    assert events(db, case, "hold.lapsed") == []
    totals = hold_totals(db, case_id=case.id, now=T + dt.timedelta(hours=50))
    assert (totals.stopped, totals.lapsed) == (Decimal("50000.00"), Decimal(0))
    # The renewal is the last: warned six hours before its own end.
    assert _watch(db, T + dt.timedelta(hours=91)) == (1, 0, 0, 0)
    [warning] = events(db, case, "hold.lapse_warning")
    assert warning.instruction_id == second.id


def test_a_freeze_due_for_renewal_is_warned_fifteen_days_ahead(
    client: TestClient, db: Session
) -> None:
    case, card = _stopped_case(client, db)
    _post(
        client,
        case,
        "freezes",
        {"institution": "CCB", "account_no": card, "document_no": "D-7"},
        supervisor_of(db, case),
    )
    [freeze] = instructions(db, case, "freeze")
    report(
        client,
        db,
        freeze,
        outcome="frozen_full",
        amount_stopped="50000.00",
        effective_at=T.isoformat(),
    )
    # The stop it converted runs out at 48 h with the freeze holding on: no lapse.
    assert _watch(db, T + dt.timedelta(hours=48, seconds=1)) == (0, 0, 0, 1)
    assert _watch(db, T + dt.timedelta(days=164)) == (0, 0, 0, 0)
    assert _watch(db, T + dt.timedelta(days=166)) == (0, 1, 0, 0)
    assert _watch(db, T + dt.timedelta(days=166)) == (0, 0, 0, 0)
    assert _watch(db, T + dt.timedelta(days=181)) == (0, 0, 1, 0)
    db.refresh(freeze)
    assert freeze.state == "expired"


def test_a_scan_that_is_not_base64_empty_or_too_large_is_refused_and_nothing_is_sent(
    client: TestClient, db: Session
) -> None:
    case, card = _stopped_case(client, db)
    boss = supervisor_of(db, case)
    body = {"institution": "CCB", "account_no": card, "document_no": "冻字〔2026〕1188号"}
    pdf = "application/pdf"
    too_large = base64.b64encode(b"%PDF" + b"0" * (5 * 1024 * 1024)).decode()
    for content in ("not base64 at all!", "", too_large):
        scan = {"filename": "d.pdf", "content_type": pdf, "content_base64": content}
        answer = client.post(
            f"/api/v1/cases/{case.case_no}/freezes", json={**body, "scan": scan}, headers=boss
        )
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["scan.content_base64"]
    assert instructions(db, case, "freeze") == []
