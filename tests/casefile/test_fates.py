"""Every receiving account has a fate, decided once (app/casefile/fates.py) and read the same
by the API, the trail and the CSV; and an account's personal data is its case's own."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit
from app.casefile.fates import Fate, case_fates
from app.casefile.read import read_case
from app.cases.models import Account, Case
from app.db import utcnow
from tests.casework import instructions, make_case, onward, report, supervisor_of
from tests.factories import fresh_card_no, make_user
from tests.intake.conftest import sign_in


def _fates(db: Session, case: Case) -> dict[str, Fate]:
    numbers = dict(db.execute(select(Account.id, Account.account_no)).all())
    return {numbers[k]: v.fate for k, v in case_fates(db, case=case, now=utcnow()).items()}


def test_a_case_s_accounts_each_have_a_fate_that_says_why(client: TestClient, db: Session) -> None:
    banks = ("CCB", "CMB", "ABC", "ICBC")
    cards = [fresh_card_no(b) for b in banks]
    smalls = [fresh_card_no("ABC") for _ in banks[1:]]
    case = make_case(db, (cards[0], "100000.00"))
    [stop] = instructions(db, case)
    assert _fates(db, case) == {cards[0]: Fate.waiting}
    # Each level's bank reports money moved on: one branch deeper, one below the minimum.
    for bank, there, small in zip(banks[1:], cards[1:], smalls, strict=True):
        report(
            client,
            db,
            stop,
            onward_transfers=[onward(bank, there, "50000.00"), onward("ABC", small, "999.99")],
        )
        found = instructions(db, case, account_no=there)
        stop = found[0] if found else stop
    fates = _fates(db, case)
    assert fates[cards[0]] == Fate.stopped  # the default outcome of `report`
    assert [fates[small] for small in smalls] == [Fate.below_minimum] * 2 + [Fate.beyond_depth]
    assert fates[cards[3]] == Fate.beyond_depth
    # The API's account rows carry the same fate; nothing is "waiting" without an instruction.
    body = client.get(f"/api/v1/cases/{case.case_no}", headers=supervisor_of(db, case)).json()
    rows = [a for level in body["levels"] for a in level["accounts"] if a["level"] > 0]
    assert {a["account_no"]: a["fate"]["fate"] for a in rows} == {
        k: v.value for k, v in fates.items()
    }
    waiting = [a for a in rows if a["fate"]["fate"] in ("waiting", "sent", "acked")]
    assert all(a["fate"]["instruction_id"] for a in waiting)
    beyond = next(a for a in rows if a["account_no"] == cards[3])
    assert Decimal(beyond["fate"]["amount_in"]) == Decimal("50000.00")


def test_money_cashed_out_before_the_stop_reads_as_cashed_out(
    client: TestClient, db: Session
) -> None:
    card = fresh_card_no("CCB")
    case = make_case(db, (card, "20000.00"))
    [stop] = instructions(db, case)
    report(client, db, stop, outcome="no_funds", amount_stopped="0.00", cashed_out="20000.00")
    [fate] = case_fates(db, case=case, now=utcnow()).values()
    assert (fate.fate, fate.cashed_out) == (Fate.cashed_out, Decimal("20000.00"))


def test_an_account_another_case_holds_says_which_case_and_what_it_holds(
    client: TestClient, db: Session
) -> None:
    shared, own = fresh_card_no("CCB"), fresh_card_no("CMB")
    first = make_case(db, (shared, "45000.00"))
    second = make_case(db, (shared, "45000.00"), (own, "45000.00"))
    [theirs] = instructions(db, first)
    assert instructions(db, second, account_no=shared) == []
    fates = case_fates(db, case=second, now=utcnow())
    held = next(f for f in fates.values() if f.fate == Fate.held_elsewhere)
    assert (held.held_by_case, held.held_by_amount) == (first.case_no, Decimal("45000.00"))
    report(client, db, theirs, outcome="stopped_partial", amount_stopped="30000.00")
    held = next(f for f in case_fates(db, case=second, now=utcnow()).values() if f.held_by_case)
    assert held.held_by_amount == Decimal("30000.00")
    # The CSV says the same of every account, instruction or not.
    answer = client.get(
        f"/api/v1/cases/{second.case_no}/export.csv", headers=supervisor_of(db, second)
    )
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    by_number = {r["account_no"]: r for r in rows if r["account_no"]}
    assert by_number[shared]["fate"] == "held_elsewhere"
    assert by_number[shared]["instruction_id"] == ""
    assert by_number[own]["fate"] == "waiting"


def test_a_victim_s_card_is_masked_and_named_as_in_each_case(
    client: TestClient, db: Session
) -> None:
    card = fresh_card_no("CCB")
    # In the first case the card is the victim's own ...
    victim = {"institution": "CCB", "account_no": card, "holder_name": "陈女士"}
    first = make_case(db, (fresh_card_no("CMB"), "8000.00"), from_=victim)
    # ... in the second it receives money, under the name that report gives.
    second = make_case(db, (card, "9000.00"), holder_name="刘某某")
    read = read_case(db, case=second)
    [row] = [a for level in read.levels for a in level.accounts if a.level == 1]
    assert row.masked
    assert row.account_no != card
    assert row.account_no.endswith(card[-4:])
    assert row.holder_name == "刘某某"
    [own] = list(read_case(db, case=first).levels[0].accounts)
    assert own.holder_name == "陈女士"
    assert own.masked
    # The second case's API answer, export and page never print it in full.
    headers = supervisor_of(db, second)
    body = client.get(f"/api/v1/cases/{second.case_no}", headers=headers).json()
    assert card not in str(body)
    export = client.get(f"/api/v1/cases/{second.case_no}/export.csv", headers=headers).text
    assert card not in export
    assert row.account_no in export
    sign_in(client, make_user(db, role=Role.supervisor, unit=db.get_one(Unit, second.unit_id)))
    page = client.get(f"/dashboard/cases/{second.case_no}")
    assert page.status_code == 200
    assert card not in page.text
    assert "刘某某" in page.text
