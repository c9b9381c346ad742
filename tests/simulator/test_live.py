"""Live money: mule accounts whose money moves on the clock, loaded by `POST /admin/live`."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from simulator.live import LiveParameters, generate
from simulator.registry import load_registry
from tests.simulator.peer import Peer


def load(peer: Peer, *, seed: int = 11, t0: dt.datetime | None = None, **params: Any) -> Any:
    body: dict[str, Any] = {"seed": seed, "parameters": params}
    if t0 is not None:
        body["t0"] = t0.isoformat()
    return peer.admin("live", body)


def state(peer: Peer) -> dict[int, dict[str, Any]]:
    response = peer.http.get("/admin/live")
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()}


def stop(peer: Peer, account: dict[str, Any], amount: str, at: str) -> dict[str, Any]:
    """A stop-payment for a live account, and its outcome once called back."""
    return peer.outcome(
        account["institution"],
        account_no=account["account_no"],
        holder_name=account["holder_name"],
        amount=amount,
        transaction_time=at,
    )


def ago(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**delta)


def test_the_same_seed_and_parameters_give_the_same_schedule(peer: Peer) -> None:
    t0 = ago(minutes=5)
    first = load(peer, seed=42, t0=t0)
    again = load(peer, seed=42, t0=t0)
    other = load(peer, seed=43, t0=t0)
    assert first == again
    assert first["accounts"] != other["accounts"]
    assert 3 <= len(first["victim_transfers"]) <= 10
    assert first["parameters"]["levels"] in (3, 4)


def test_a_salt_moves_the_same_money_through_other_accounts() -> None:
    registry = load_registry()
    plain = generate(seed=5, params=LiveParameters(), registry=registry)
    salted = generate(seed=5, params=LiveParameters(numbers_salt="again"), registry=registry)
    assert [p.amount for p in plain.parcels] == [p.amount for p in salted.parcels]
    assert [p.departs_s for p in plain.parcels] == [p.departs_s for p in salted.parcels]
    assert [a.institution for a in plain.accounts] == [a.institution for a in salted.accounts]
    assert not {a.account_no for a in plain.accounts} & {a.account_no for a in salted.accounts}


def test_a_drawn_case_has_the_stated_shape() -> None:
    registry = load_registry()
    for seed in range(20):
        schedule = generate(seed=seed, params=LiveParameters(), registry=registry)
        levels = schedule.parameters.levels
        assert levels is not None
        assert {a.level for a in schedule.accounts} == set(range(1, levels + 1))
        branches = [a for a in schedule.accounts if a.cash_out]
        assert len(branches) == 1
        assert branches[0].level == 2
        # Money is never made nor lost on the way: what each parcel sends is what it got.
        for parcel in schedule.parcels:
            assert sum(leg.amount for leg in parcel.legs) == parcel.amount
        cashed_out = [leg.amount for p in schedule.parcels for leg in p.legs if leg.to is None]
        assert sum(cashed_out) == schedule.loss


def test_a_stop_before_the_departure_holds_the_money_and_the_next_level_never_gets_it(
    peer: Peer,
) -> None:
    # The money leaves 4 s after t0 (now): the stop, processed within 50 ms here, comes first.
    schedule = load(peer, transfers=1, levels=2, dwell_median_s=4, dwell_sigma=0, max_split=1)
    [victim] = schedule["victim_transfers"]
    [parcel, *_] = schedule["parcels"]

    outcome = stop(peer, victim["to"], victim["amount"], victim["occurred_at"])
    assert (outcome["outcome"], outcome["amount_stopped"]) == ("stopped_full", victim["amount"])

    departs = dt.datetime.fromisoformat(parcel["departs_at"])
    while dt.datetime.now(dt.UTC) < departs + dt.timedelta(milliseconds=300):
        time.sleep(0.1)
    accounts = state(peer)
    level1, level2 = accounts[1], accounts[2]
    assert (level1["held"], level1["sent"]) == (victim["amount"], "0.00")
    assert level2["received"] == "0.00"
    [applied] = peer.ledger(entry="applied")
    assert applied["outcome"] == "stopped_full"


def test_a_stop_after_the_departure_reports_the_onward_transfer_and_the_next_level_is_stopped(
    peer: Peer,
) -> None:
    # Reported 45 minutes after the last transfer; every account keeps money 30 minutes.
    schedule = load(
        peer,
        t0=ago(minutes=45),
        transfers=1,
        levels=2,
        dwell_median_s=1800,
        dwell_sigma=0,
        max_split=1,
    )
    [victim] = schedule["victim_transfers"]
    level1 = stop(peer, victim["to"], victim["amount"], victim["occurred_at"])
    assert (level1["outcome"], level1["balance"]) == ("no_funds", "0.00")
    [onward] = level1["onward_transfers"]
    [parcel, *_] = schedule["parcels"]
    assert (onward["amount"], onward["occurred_at"]) == (victim["amount"], parcel["departs_at"])

    level2 = peer.outcome(
        onward["institution"],
        account_no=onward["account_no"],
        holder_name=onward["holder_name"],
        amount=onward["amount"],
        transaction_time=onward["occurred_at"],
    )
    assert (level2["outcome"], level2["amount_stopped"]) == ("stopped_full", victim["amount"])
    assert level2["onward_transfers"] == []


def test_a_stop_takes_only_what_is_left_after_part_has_moved_on(peer: Peer) -> None:
    # Two transfers into one account at least 5 minutes apart; it keeps each for 25 minutes,
    # and the case is reported 20 minutes after the last: the first sum has gone, not the last.
    params: dict[str, Any] = {
        "transfers": 2,
        "levels": 2,
        "dwell_median_s": 1500,
        "dwell_sigma": 0,
        "max_split": 1,
    }
    seed = next(s for s in range(100) if _one_account_first_early(s, params))
    schedule = load(peer, seed=seed, t0=ago(minutes=20), **params)
    first, last = schedule["victim_transfers"]
    total = f"{float(first['amount']) + float(last['amount']):.2f}"

    outcome = stop(peer, first["to"], total, last["occurred_at"])
    assert outcome["outcome"] == "stopped_partial"
    assert outcome["amount_stopped"] == outcome["balance"] == last["amount"]
    [onward] = outcome["onward_transfers"]
    assert onward["amount"] == first["amount"]


def _one_account_first_early(seed: int, params: dict[str, Any]) -> bool:
    schedule = generate(seed=seed, params=LiveParameters(**params), registry=load_registry())
    first, last = schedule.parcels[:2]
    return first.account == last.account and first.arrives_s <= -300


def test_a_cash_out_account_has_nothing_left_and_says_so(peer: Peer) -> None:
    schedule = load(peer, t0=ago(minutes=10), transfers=1, levels=1, dwell_sigma=0)
    [victim] = schedule["victim_transfers"]
    outcome = stop(peer, victim["to"], victim["amount"], victim["occurred_at"])
    assert outcome["outcome"] == "no_funds"
    assert outcome["cashed_out"] == victim["amount"]
    assert outcome["onward_transfers"] == []


def test_what_happened_before_the_report_is_history_when_it_is_loaded(peer: Peer) -> None:
    # t0 an hour ago, two-minute dwells over three levels: all of it was cashed out long ago.
    schedule = load(peer, t0=ago(hours=1), levels=3, dwell_sigma=0, spread_s=60)
    accounts = state(peer)
    deepest = [a for a in accounts.values() if a["level"] == 3 or a["cash_out"]]
    cashed = sum(float(a["cashed_out"]) for a in deepest)
    assert round(cashed, 2) == float(schedule["loss"])
    assert all(a["free"] == "0.00" for a in accounts.values())


def test_an_instruction_for_a_live_account_is_matched_on_time(peer: Peer) -> None:
    schedule = load(peer, transfers=1, levels=2, dwell_median_s=600, dwell_sigma=0)
    [victim] = schedule["victim_transfers"]
    wrong = dt.datetime.fromisoformat(victim["occurred_at"]) - dt.timedelta(hours=1)
    outcome = stop(peer, victim["to"], victim["amount"], wrong.isoformat())
    assert (outcome["outcome"], outcome["mismatch_field"]) == ("mismatch", "transaction_time")


def test_a_schedule_naming_an_unknown_institution_is_refused(peer: Peer) -> None:
    response = peer.http.post(
        "/admin/live", json={"seed": 1, "parameters": {"institutions": ["NOPE"]}}
    )
    assert response.status_code == 422
    assert "NOPE" in response.json()["detail"]
