"""The per-case figure (app/casefile/reach.py): held now ÷ what was still on the suspect
accounts when the report came, as far as the institutions have reported it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.casefile.reach import Interception, Move, Report, interception, interceptions
from app.db import utcnow
from tests.casework import instructions, make_case, onward, report, supervisor_of
from tests.factories import fresh_card_no

T = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)  # the report
VICTIM, L1, L2, L3 = 0, 1, 2, 3


def at(minutes: float) -> dt.datetime:
    return T + dt.timedelta(minutes=minutes)


def paid(amount: str, to: int = L1) -> Move:
    """The victim's payment, named in the report."""
    return Move(VICTIM, to, Decimal(amount), at(-10), in_report=True)


def moved(amount: str, from_: int, to: int, minutes: float) -> Move:
    return Move(from_, to, Decimal(amount), at(minutes))


def figure(held: str, reports: dict[int, Report], moves: list[Move]) -> Interception | None:
    return interception(held=Decimal(held), reported_at=T, reports=reports, moves=moves)


def test_money_moved_on_after_the_report_and_stopped_a_level_down_counts_once() -> None:
    """100,000 on level 1 at the report; 60,000 left for level 2 two minutes later; level 1
    stops the 40,000 left, level 2 the 60,000."""
    moves = [paid("100000.00"), moved("60000.00", L1, L2, 2)]
    level_1 = Report(Decimal("40000.00"), at(5))
    # Level 1's bank has answered, level 2's not yet: the 60,000 counts at level 1.
    first = figure("40000.00", {L1: level_1}, moves)
    assert first is not None
    assert (first.reachable, first.ratio) == (Decimal("100000.00"), 0.4)
    # Level 2's bank found the 60,000 and stopped it: all of it held, nothing counted twice.
    both = figure("100000.00", {L1: level_1, L2: Report(Decimal("60000.00"), at(7))}, moves)
    assert both is not None
    assert (both.reachable, both.ratio, both.accounts_reported) == (Decimal("100000.00"), 1.0, 2)


def test_money_gone_before_the_report_is_not_counted_as_still_there() -> None:
    """30,000 left level 1 before the call; level 2 sent it on to level 3, also before; only
    level 1's 70,000 was still reachable, and level 3 (not reported) adds nothing."""
    moves = [
        paid("100000.00"),
        moved("30000.00", L1, L2, -8),
        moved("30000.00", L2, L3, -5),
    ]
    reports = {
        L1: Report(Decimal("70000.00"), at(3)),
        L2: Report(Decimal("0.00"), at(4)),
    }
    found = figure("70000.00", reports, moves)
    assert found is not None
    assert (found.reachable, found.ratio) == (Decimal("70000.00"), 1.0)


def test_an_account_counts_no_more_than_the_case_brought_into_it() -> None:
    """The mule holds 500,000 of other people's money too: this case could reach its 100,000."""
    found = figure("100000.00", {L1: Report(Decimal("500000.00"), at(2))}, [paid("100000.00")])
    assert found is not None
    assert (found.reachable, found.ratio) == (Decimal("100000.00"), 1.0)


def test_cash_taken_out_counts_as_still_there_because_nobody_says_when() -> None:
    moves = [paid("50000.00"), moved("20000.00", L1, L2, 1)]
    reports = {
        L1: Report(Decimal("30000.00"), at(2)),
        L2: Report(Decimal("0.00"), at(4), cashed_out=Decimal("20000.00")),
    }
    found = figure("30000.00", reports, moves)
    assert found is not None
    assert (found.reachable, found.ratio) == (Decimal("50000.00"), 0.6)


def test_nothing_reported_is_no_figure_and_nothing_reachable_is_no_ratio() -> None:
    assert figure("0.00", {}, [paid("100000.00")]) is None
    emptied = [paid("100000.00"), moved("100000.00", L1, L2, -1)]
    found = figure("0.00", {L1: Report(Decimal("0.00"), at(3))}, emptied)
    assert found is not None
    assert (found.reachable, found.ratio) == (Decimal("0.00"), None)


def test_the_case_answer_carries_the_figure_from_the_banks_reports(
    client: TestClient, db: Session
) -> None:
    """Through real callbacks: level 1's bank stops 40,000 and reports 60,000 gone on to
    level 2 after the call; level 2's bank stops it there."""
    first, second = fresh_card_no("CCB"), fresh_card_no("CMB")
    case = make_case(db, (first, "100000.00"))
    headers = supervisor_of(db, case)
    [stop] = instructions(db, case)
    assert interceptions(db, cases=[case], now=utcnow())[case.id] is None
    assert (
        client.get(f"/api/v1/cases/{case.case_no}", headers=headers).json()["interception"] is None
    )

    after_call = (case.received_at + dt.timedelta(seconds=30)).isoformat()
    report(
        client,
        db,
        stop,
        outcome="stopped_partial",
        amount_stopped="40000.00",
        onward_transfers=[{**onward("CMB", second, "60000.00"), "occurred_at": after_call}],
    )
    body = client.get(f"/api/v1/cases/{case.case_no}", headers=headers).json()["interception"]
    assert (Decimal(body["held"]), Decimal(body["reachable"]), body["ratio"]) == (
        Decimal("40000.00"),
        Decimal("100000.00"),
        0.4,
    )
    [next_stop] = instructions(db, case, account_no=second)
    report(client, db, next_stop)
    body = client.get(f"/api/v1/cases/{case.case_no}", headers=headers).json()["interception"]
    assert (Decimal(body["held"]), Decimal(body["reachable"]), body["ratio"]) == (
        Decimal("100000.00"),
        Decimal("100000.00"),
        1.0,
    )
