"""Following the money through callbacks: level N+1 stop-payments, merges, limits, queries."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.cases.models import Account, Case, CaseAccount, Transfer
from app.dispatch.models import Instruction, Outbox
from app.dispatch.transitions import claim_attempt
from tests.callbacks.signing import outcome, post, signed
from tests.casework import (
    AT,
    events,
    instructions,
    make_case,
    onward,
    report,
    supervisor_of,
)
from tests.factories import bearer, fresh_card_no, make_user


def _level(db: Session, case: Case, account_no: str) -> int | None:
    return db.scalar(
        select(CaseAccount.level)
        .join(Account, Account.id == CaseAccount.account_id)
        .where(CaseAccount.case_id == case.id, Account.account_no == account_no)
    )


def test_onward_transfers_in_a_callback_become_the_next_levels_stop_payments(
    client: TestClient, db: Session
) -> None:
    level1, level2, wallet = (
        fresh_card_no("CCB"),
        fresh_card_no("CMB"),
        f"2088{uuid.uuid4().int % 10**12:012d}",
    )
    case = make_case(db, (level1, "580000.00"))
    [stop1] = instructions(db, case)
    report(
        client,
        db,
        stop1,
        outcome="stopped_partial",
        amount_stopped="350000.00",
        onward_transfers=[
            onward("CMB", level2, "230000.00"),
            onward("ALIPAY", wallet, "5000.00", minutes=2),
        ],
    )

    [stop2] = instructions(db, case, account_no=level2)
    assert (stop2.amount_requested, stop2.holder_name, stop2.transaction_time) == (
        Decimal("230000.00"),
        "王某",
        AT,
    )
    assert (stop2.parent_id, stop2.state) == (stop1.id, "pending")
    [to_wallet] = instructions(db, case, account_no=wallet)
    assert to_wallet.amount_requested == Decimal("5000.00")
    assert (_level(db, case, level2), _level(db, case, wallet)) == (2, 2)
    outbox = db.scalars(
        select(Outbox.instruction_id).where(Outbox.instruction_id.in_([stop2.id, to_wallet.id]))
    ).all()
    assert sorted(outbox) == sorted([stop2.id, to_wallet.id])
    edges = db.scalars(
        select(Transfer).where(Transfer.case_id == case.id, Transfer.source == "callback")
    ).all()
    assert sorted(e.amount for e in edges) == [Decimal("5000.00"), Decimal("230000.00")]
    [followed] = events(db, case, "trace.followed")
    assert followed.data["level"] == 2
    assert sorted(followed.data["instructions"]) == sorted([stop2.id, to_wallet.id])


def test_the_trail_stops_at_the_depth_limit_and_below_the_minimum(
    client: TestClient, db: Session
) -> None:
    cards = [fresh_card_no(b) for b in ("CCB", "CMB", "ABC", "ICBC")]
    case = make_case(db, (cards[0], "100000.00"))
    [stop] = instructions(db, case)
    for level, there in enumerate(cards[1:], start=2):
        small = fresh_card_no("ABC")
        report(
            client,
            db,
            stop,
            onward_transfers=[
                onward(_bank(there), there, "50000.00"),
                onward("ABC", small, "999.99"),
            ],
        )
        assert _level(db, case, there) == level
        assert instructions(db, case, account_no=small) == []
        found = instructions(db, case, account_no=there)
        if level <= 3:
            [stop] = found
        else:
            assert found == []
    # Level 4 is past the limit whatever the amount; above it, 999.99 is below the minimum.
    [deep] = events(db, case, "trace.depth_limit")
    assert [a["level"] for a in deep.data["accounts"]] == [4, 4]
    assert len(events(db, case, "trace.below_minimum")) == 2


def _bank(card: str) -> str:
    return {"6217": "CCB", "6225": "CMB", "6228": "ABC", "6222": "ICBC"}[card[:4]]


def test_two_branches_into_one_account_give_one_stop_for_the_sum(
    client: TestClient, db: Session
) -> None:
    first, second, merged = fresh_card_no("CCB"), fresh_card_no("ICBC"), fresh_card_no("CMB")
    case = make_case(db, (first, "190000.00"), (second, "190000.00"))
    stop_a, stop_b = instructions(db, case)[:2]
    report(client, db, stop_a, onward_transfers=[onward("CMB", merged, "190000.00")])
    report(client, db, stop_b, onward_transfers=[onward("CMB", merged, "190000.00", minutes=1)])

    [stop] = instructions(db, case, account_no=merged)
    assert stop.amount_requested == Decimal("380000.00")
    assert len(events(db, case, "trace.merged")) == 1
    assert (
        db.scalar(
            select(Transfer.id)
            .where(Transfer.to_account_id == stop.account_id)
            .where(Transfer.from_account_id == stop_a.account_id)
        )
        is not None
    )


def test_a_branch_reaching_an_account_already_sent_to_is_noted_not_sent_again(
    client: TestClient, db: Session
) -> None:
    first, second, merged = fresh_card_no("CCB"), fresh_card_no("ICBC"), fresh_card_no("CMB")
    case = make_case(db, (first, "190000.00"), (second, "190000.00"))
    stop_a, stop_b = instructions(db, case)[:2]
    report(client, db, stop_a, onward_transfers=[onward("CMB", merged, "190000.00")])
    [stop] = instructions(db, case, account_no=merged)
    lease = dt.timedelta(seconds=20)
    assert claim_attempt(db, instruction_id=stop.id, now=dt.datetime.now(dt.UTC), lease=lease)
    report(client, db, stop_b, onward_transfers=[onward("CMB", merged, "190000.00", minutes=1)])

    assert [s.id for s in instructions(db, case, account_no=merged)] == [stop.id]
    db.refresh(stop)
    assert stop.amount_requested == Decimal("190000.00")
    [note] = events(db, case, "trace.merged_after_send")
    assert note.data["accounts"][0]["amount"] == "380000.00"


def test_a_cash_out_ends_the_branch_and_a_repeated_report_adds_nothing(
    client: TestClient, db: Session
) -> None:
    level1, level2 = fresh_card_no("CCB"), fresh_card_no("ABC")
    case = make_case(db, (level1, "20000.00"))
    [stop] = instructions(db, case)
    moved = [onward("ABC", level2, "20000.00")]
    report(client, db, stop, outcome="no_funds", amount_stopped="0.00", onward_transfers=moved)
    [stop2] = instructions(db, case, account_no=level2)
    report(client, db, stop2, outcome="no_funds", amount_stopped="0.00", cashed_out="20000.00")

    [cashed] = events(db, case, "trace.cashed_out")
    assert cashed.data == {"amount": "20000.00"}
    assert len(instructions(db, case)) == 2
    # The level-2 card found nothing and reported no transfers: the bank is asked where it went.
    [query] = db.scalars(
        select(Instruction).where(Instruction.case_id == case.id, Instruction.kind == "query")
    ).all()
    assert (query.account_id, query.parent_id) == (stop2.account_id, stop2.id)
    # The query repeats the transfers already known: no new edge, no new stop-payment.
    report(
        client,
        db,
        query,
        outcome="answered",
        amount_stopped=None,
        balance="0.00",
        onward_transfers=[],
    )
    edges = db.scalars(select(Transfer.id).where(Transfer.case_id == case.id)).all()
    assert len(edges) == 2


def test_a_no_funds_stop_asks_where_the_money_went_and_follows_the_answer(
    client: TestClient, db: Session
) -> None:
    level1, level2 = fresh_card_no("CCB"), fresh_card_no("CMB")
    case = make_case(db, (level1, "80000.00"))
    [stop] = instructions(db, case)
    report(client, db, stop, outcome="no_funds", amount_stopped="0.00", balance="0.00")
    [query] = db.scalars(
        select(Instruction).where(Instruction.case_id == case.id, Instruction.kind == "query")
    ).all()
    assert query.parent_id == stop.id
    report(
        client,
        db,
        query,
        outcome="answered",
        amount_stopped=None,
        balance="0.00",
        onward_transfers=[onward("CMB", level2, "80000.00")],
    )
    [stop2] = instructions(db, case, account_no=level2)
    assert (stop2.parent_id, stop2.amount_requested) == (query.id, Decimal("80000.00"))
    source = select(Transfer.source).where(
        Transfer.to_account_id == stop2.account_id, Transfer.case_id == case.id
    )
    assert db.scalar(source) == "query"
    # Its outcome does not hide the level-1 result: the case rolls up from both stops.
    db.refresh(case)
    assert case.status == "stopping"


def test_an_account_another_case_holds_is_not_stopped_again_and_both_cases_show_it(
    client: TestClient, db: Session
) -> None:
    mule = fresh_card_no("CCB")
    first = make_case(db, (mule, "50000.00"))
    [held] = instructions(db, first)
    report(client, db, held)
    second = make_case(db, (mule, "30000.00"))
    assert instructions(db, second) == []
    [note] = events(db, second, "trace.held_by_other_case")
    assert note.data["accounts"][0]["case_no"] == first.case_no

    shown = client.get(f"/api/v1/cases/{second.case_no}", headers=supervisor_of(db, second)).json()
    [account] = [a for lvl in shown["levels"] for a in lvl["accounts"] if a["level"] == 1]
    assert account["held_by"]["case_no"] == first.case_no
    assert account["held_by"]["outcome"] == "stopped_full"
    assert first.case_no in account["shared_with"]
    other = client.get(f"/api/v1/cases/{first.case_no}", headers=supervisor_of(db, first)).json()
    [mine] = [a for lvl in other["levels"] for a in lvl["accounts"] if a["level"] == 1]
    assert second.case_no in mine["shared_with"]
    assert mine["held_by"] is None

    # Once that stop has lapsed, a new case stops the account itself.
    db.execute(
        update(Instruction)
        .where(Instruction.id == held.id)
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    )
    third = make_case(db, (mule, "10000.00"))
    assert len(instructions(db, third)) == 1


def test_onward_money_at_an_unknown_institution_refuses_the_outcome(
    client: TestClient, db: Session
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "50000.00"))
    [stop] = instructions(db, case)
    data = outcome(stop, onward_transfers=[onward("NOSUCH", "12345678", "20000.00")])
    answer = post(client, "CCB", signed(db, "CCB", data))
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "data.onward_transfers.0.institution"
    db.refresh(stop)
    assert stop.state != "done"
    assert len(instructions(db, case)) == 1


def test_a_supervisor_asks_for_a_query_and_a_call_taker_may_not(
    client: TestClient, db: Session
) -> None:
    level1 = fresh_card_no("CCB")
    case = make_case(db, (level1, "50000.00"))
    url = f"/api/v1/cases/{case.case_no}/queries"
    body = {"institution": "ccb", "account_no": f"{level1[:4]} {level1[4:]}"}
    call_taker = bearer(db, make_user(db))
    assert client.post(url, json=body, headers=call_taker).status_code == 403
    supervisor = supervisor_of(db, case)
    answer = client.post(url, json=body, headers=supervisor)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["kind"], answer.json()["account_no"]) == ("query", level1)
    again = client.post(url, json=body, headers=supervisor)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    missing = client.post(url, json={**body, "institution": "CMB"}, headers=supervisor)
    assert missing.status_code == 404
