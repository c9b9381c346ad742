"""Outcomes: scenario accounts checked per section 4, seeded accounts drawn from the seed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.cards import luhn_ok
from app.institutions.service import BinIndex, load_registry
from tests.factories import luhn_complete
from tests.simulator.peer import (
    LEVEL2_CARD,
    LEVEL3_CARD,
    MISSING_CARD,
    SEED_TIME,
    TICKET_REFUND_CARD,
    Peer,
    only,
)

SCENARIO = """
accounts:
  - institution: CMB
    account_no: "6225 8802 0000 0000 008"
    holder_name: 赵某
    balance: "100000.00"
    incoming:
      - {amount: "300000.00", at: "2026-11-22T10:00:00+08:00"}
"""
SHARED_CARD = "6225880200000000008"


def test_the_ticket_refund_card_is_stopped_in_full(peer: Peer) -> None:
    outcome = peer.outcome(
        "ICBC",
        account_no=TICKET_REFUND_CARD,
        holder_name="陈某",
        amount="455400.00",
        transaction_time="2026-11-22T01:21:00Z",
    )
    assert outcome["outcome"] == "stopped_full"
    assert outcome["amount_stopped"] == "455400.00"
    assert outcome["onward_transfers"] == []


def test_the_leader_impersonation_money_is_followed_to_the_cash_out(peer: Peer) -> None:
    level1 = peer.outcome("CCB")
    assert (level1["outcome"], level1["amount_stopped"]) == ("stopped_partial", "350000.00")
    [onward] = level1["onward_transfers"]
    assert onward["institution"] == "CMB"
    assert onward["account_no"] == LEVEL2_CARD

    level2 = peer.outcome(
        "CMB",
        account_no=onward["account_no"],
        holder_name=onward["holder_name"],
        amount=onward["amount"],
        transaction_time=onward["occurred_at"],
    )
    assert (level2["outcome"], level2["amount_stopped"]) == ("stopped_partial", "210000.00")
    [onward] = level2["onward_transfers"]
    assert onward["account_no"] == LEVEL3_CARD

    level3 = peer.outcome(
        "ABC",
        account_no=onward["account_no"],
        holder_name=None,
        amount=onward["amount"],
        transaction_time=onward["occurred_at"],
    )
    assert (level3["outcome"], level3["cashed_out"]) == ("no_funds", "20000.00")
    assert level3["balance"] == "0.00"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"holder_name": "张某"}, "holder_name"),
        ({"amount": "580000.01"}, "amount"),
        ({"transaction_time": "2026-11-22T01:30:01Z"}, "transaction_time"),
        ({"transaction_time": "2026-11-22T01:09:59Z"}, "transaction_time"),
    ],
)
def test_a_field_that_does_not_match_is_named(
    peer: Peer, changes: dict[str, str], field: str
) -> None:
    outcome = peer.outcome("CCB", **changes)
    assert outcome["outcome"] == "mismatch"
    assert outcome["mismatch_field"] == field
    assert outcome["amount_stopped"] == "0.00"
    assert outcome["balance"] is None


def test_close_enough_fields_match(peer: Peer) -> None:
    outcome = peer.outcome(
        "CCB",
        holder_name=" 刘 某",
        amount="300000.00",
        transaction_time="2026-11-22T01:29:59Z",
        account_no="6217 0002 0123 4567 897",
    )
    assert outcome["outcome"] == "stopped_full"
    assert outcome["amount_stopped"] == "300000.00"


def test_account_number_mismatches(peer: Peer) -> None:
    forced = """
accounts:
  - {institution: BOC, account_no: "6216610000000000", mismatch: account_no, balance: "9.00"}
"""
    assert peer.http.post("/admin/scenario", content=forced).status_code == 200
    outcome = peer.outcome("BOC", account_no="6216610000000000")
    assert (outcome["outcome"], outcome["mismatch_field"]) == ("mismatch", "account_no")

    # A card number with the bank's own BIN and a wrong check digit: a typo the bank sees.
    peer.profile("CCB", accounts=only("full"))
    typo = peer.outcome("CCB", account_no="6217000201234567890", transaction_time=SEED_TIME)
    assert (typo["outcome"], typo["mismatch_field"]) == ("mismatch", "account_no")


def test_account_not_found_comes_before_everything(peer: Peer) -> None:
    outcome = peer.outcome("ICBC", account_no=MISSING_CARD, holder_name="nobody")
    assert outcome["outcome"] == "account_not_found"
    peer.profile("CEB", accounts=only("not_found"))
    assert peer.outcome("CEB", account_no="6226600000000001")["outcome"] == "account_not_found"


def test_partial_stops_share_what_is_left_and_a_renewal_keeps_its_hold(peer: Peer) -> None:
    assert peer.http.post("/admin/scenario", content=SCENARIO).status_code == 200
    stop = {"account_no": SHARED_CARD, "holder_name": "赵某"}
    stop |= {"transaction_time": "2026-11-22T02:00:00Z"}

    first = peer.outcome("CMB", case_no="ZF-A", amount="60000.00", **stop)
    second = peer.outcome("CMB", case_no="ZF-B", amount="80000.00", **stop)
    third = peer.outcome("CMB", case_no="ZF-C", amount="10000.00", **stop)
    renewal = peer.outcome("CMB", case_no="ZF-A", amount="60000.00", **stop)

    assert (first["outcome"], first["amount_stopped"], first["balance"]) == (
        "stopped_full",
        "60000.00",
        "100000.00",
    )
    assert (second["outcome"], second["amount_stopped"], second["balance"]) == (
        "stopped_partial",
        "40000.00",
        "40000.00",
    )
    assert (third["outcome"], third["balance"]) == ("no_funds", "0.00")
    assert (renewal["outcome"], renewal["amount_stopped"]) == ("stopped_full", "60000.00")


def test_freeze_query_and_release(peer: Peer) -> None:
    assert peer.http.post("/admin/scenario", content=SCENARIO).status_code == 200
    common = {"account_no": SHARED_CARD, "holder_name": "赵某"}
    common |= {"transaction_time": "2026-11-22T02:00:00Z"}

    peer.outcome("CMB", case_no="ZF-A", amount="70000.00", **common)
    freeze = peer.outcome(
        "CMB", case_no="ZF-A", kind="freeze", document_no="DJ-1", amount="70000.00", **common
    )
    other = peer.outcome("CMB", case_no="ZF-B", amount="50000.00", **common)
    query = peer.outcome("CMB", case_no="ZF-B", kind="query", amount=None, **common)
    release = peer.outcome("CMB", case_no="ZF-A", kind="release", amount=None, **common)
    after = peer.outcome("CMB", case_no="ZF-C", amount="90000.00", **common)

    assert (freeze["outcome"], freeze["amount_stopped"]) == ("frozen_full", "70000.00")
    assert (other["outcome"], other["amount_stopped"]) == ("stopped_partial", "30000.00")
    assert (query["outcome"], query["balance"], query["amount_stopped"]) == (
        "answered",
        "30000.00",
        None,
    )
    assert (release["outcome"], release["amount_stopped"]) == ("released", "70000.00")
    assert (after["outcome"], after["amount_stopped"]) == ("stopped_partial", "70000.00")


def test_money_that_moved_on_goes_to_real_card_numbers_and_sums_up(peer: Peer) -> None:
    registry = {e.code: e for e in load_registry()}
    bins = BinIndex(registry.values())
    peer.profile("PSBC", accounts={**only("moved"), "cash_out_share": 0.0})
    for n in range(8):
        outcome = peer.outcome(
            "PSBC",
            account_no=luhn_complete(f"62179900000{n:04d}"),
            holder_name="孙某",
            amount="123456.78",
            transaction_time=SEED_TIME,
        )
        assert (outcome["outcome"], outcome["balance"]) == ("no_funds", "0.00")
        onward = outcome["onward_transfers"]
        assert 1 <= len(onward) <= 3
        assert sum(Decimal(o["amount"]) for o in onward) == Decimal("123456.78")
        for transfer in onward:
            institution = registry[transfer["institution"]]
            assert institution.kind != "national_platform"
            assert transfer["occurred_at"] > SEED_TIME.replace("Z", ".000Z")
            assert transfer["holder_name"]
            if institution.kind == "bank":
                assert luhn_ok(transfer["account_no"])
                assert bins.lookup(transfer["account_no"]) == institution.code


def test_partial_and_cashed_out_accounts(peer: Peer) -> None:
    peer.profile("CIB", accounts={**only("partial"), "cash_out_share": 1.0})
    for n in range(5):
        outcome = peer.outcome(
            "CIB",
            account_no=luhn_complete(f"6229080000{n:05d}"),
            amount="1000.00",
            transaction_time=SEED_TIME,
        )
        assert outcome["outcome"] == "stopped_partial"
        left = Decimal(outcome["amount_stopped"])
        assert Decimal("100.00") <= left <= Decimal("900.00")
        assert Decimal(outcome["cashed_out"]) == Decimal("1000.00") - left
        assert outcome["onward_transfers"] == []


def test_a_seeded_name_mismatch(peer: Peer) -> None:
    peer.profile("SPDB", accounts=only("name_mismatch"))
    card = luhn_complete("622521000000001")
    outcome = peer.outcome("SPDB", account_no=card, transaction_time=SEED_TIME)
    assert (outcome["outcome"], outcome["mismatch_field"]) == ("mismatch", "holder_name")


def _behaviour(peer: Peer, accounts: list[str]) -> list[tuple[object, ...]]:
    results = []
    for i, account_no in enumerate(accounts):
        outcome = peer.outcome(
            "BOCOM", case_no=f"ZF-{i}", account_no=account_no, transaction_time=SEED_TIME
        )
        results.append(
            (
                outcome["outcome"],
                outcome["amount_stopped"],
                outcome["cashed_out"],
                str(outcome["onward_transfers"]),
            )
        )
    return results


def test_the_same_seed_gives_the_same_behaviour(peer: Peer) -> None:
    accounts = [luhn_complete(f"6222620000{n:05d}") for n in range(12)]
    first = _behaviour(peer, accounts)
    assert len({r[0] for r in first}) >= 2  # the default mix: not all alike

    assert peer.http.post("/admin/reset").status_code == 200
    assert _behaviour(peer, accounts) == first

    assert peer.http.post("/admin/reset").status_code == 200
    peer.profile(seed=8)
    assert _behaviour(peer, accounts) != first
