"""Following the money end to end: the real processes, scenario files, and the ledger."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.cases import (
    account_at,
    assert_exactly_once,
    event_kinds,
    load_scenario,
    read_case,
    settled,
    stop_payments,
    submit,
)
from tests.e2e.stack import Stack, wait_for
from tests.factories import transfer_payload

pytestmark = pytest.mark.slow


def _levels(case: dict[str, Any]) -> dict[str, int]:
    return {a["account_no"]: a["level"] for lvl in case["levels"] for a in lvl["accounts"]}


def _settled_trail(api: httpx.Client, case_no: str, *, stops: int) -> dict[str, Any] | None:
    """The case once it has at least `stops` stop-payments and none is on its way."""
    case = settled(api, case_no)
    return case if case is not None and len(stop_payments(case)) >= stops else None


def test_scenario_4_the_level_1_callback_finds_level_2_and_3(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    with fresh_simulator.api(headers) as api, fresh_simulator.simulator() as sim:
        load_scenario(sim, "scenario-4-leader-impersonation.yaml")
        case_no = submit(
            api,
            [
                transfer_payload(
                    to={
                        "institution": "CCB",
                        "account_no": "6217000201234567897",
                        "holder_name": "刘某",
                    },
                    amount="580000.00",
                    occurred_at="2026-11-22T09:20:00+08:00",
                )
            ],
        )
        case = wait_for(
            lambda: _settled_trail(api, case_no, stops=3),
            timeout=60,
            what="three levels of stop-payments to settle",
        )

        by_account = {s["account_no"]: s for s in stop_payments(case)}
        level1, level2 = by_account["6217000201234567897"], by_account["6225880201234567895"]
        level3 = by_account["6228480201234567893"]
        assert (level1["outcome"], level1["amount_stopped"]) == ("stopped_partial", "350000.00")
        assert (level2["amount_requested"], level2["amount_stopped"]) == ("230000.00", "210000.00")
        assert (level3["amount_requested"], level3["outcome"]) == ("20000.00", "no_funds")
        levels = _levels(case)
        assert [levels[n] for n in by_account] == [1, 2, 3]
        stopped = sum(Decimal(s["amount_stopped"] or 0) for s in stop_payments(case))
        assert stopped == Decimal("560000.00")
        kinds = event_kinds(case)
        assert kinds["trace.followed"] == 2
        assert kinds["trace.cashed_out"] >= 1
        assert case["status"] == "partly_stopped"
        assert_exactly_once(sim, case)


def test_scenario_6_two_branches_merge_and_a_cash_out_ends_the_trail(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    with fresh_simulator.api(headers) as api, fresh_simulator.simulator() as sim:
        load_scenario(sim, "scenario-6-fake-leader-merge.yaml")
        case_no = submit(
            api,
            [
                transfer_payload(
                    to={
                        "institution": "CCB",
                        "account_no": "6217000601234567898",
                        "holder_name": "赵某",
                    },
                    amount="190000.00",
                    occurred_at="2026-11-22T10:02:00+08:00",
                ),
                transfer_payload(
                    to={
                        "institution": "ICBC",
                        "account_no": "6222020601234567894",
                        "holder_name": "钱某",
                    },
                    amount="190000.00",
                    occurred_at="2026-11-22T10:03:00+08:00",
                ),
            ],
        )
        case = wait_for(
            lambda: _settled_trail(api, case_no, stops=3),
            timeout=60,
            what="both branches to reach the merged account",
        )
        # Let any late query settle too, then look once more.
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the queries")

        merged = [s for s in stop_payments(case) if s["account_no"] == "6225880601234567896"]
        assert len(merged) == 1, "one stop-payment for the account both branches reached"
        assert _levels(case)["6225880601234567896"] == 2
        edges = [t for t in case["transfers"] if t["to_account_no"] == "6225880601234567896"]
        assert sorted(t["from_account_no"] for t in edges) == [
            "6217000601234567898",
            "6222020601234567894",
        ]
        kinds = event_kinds(case)
        # Either the second branch came in time to ask for the sum, or it is noted on the case.
        if merged[0]["amount_requested"] == "380000.00":
            assert kinds["trace.merged"] == 1
        else:
            assert kinds["trace.merged_after_send"] == 1
        assert merged[0]["outcome"] == "no_funds"
        assert kinds["trace.cashed_out"] >= 1
        assert max(_levels(case).values()) == 2, "the cash-out ended the trail"
        assert case["status"] == "nothing_stopped"
        assert_exactly_once(sim, case)


def test_scenario_2_a_wide_tree_is_stopped_down_to_level_3_and_no_deeper(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    banks = [
        "ICBC",
        "ABC",
        "BOC",
        "CCB",
        "BOCOM",
        "CMB",
        "CIB",
        "SPDB",
        "CITIC",
        "CEB",
        "HXB",
        "CMBC",
    ]
    with fresh_simulator.api(headers) as api, fresh_simulator.simulator() as sim:
        mix = {
            "full": 0.2,
            "partial": 0.4,
            "moved": 0.4,
            "not_found": 0.0,
            "name_mismatch": 0.0,
            "cash_out_share": 0.1,
        }
        assert sim.post("/admin/profile", json={"accounts": mix}).status_code == 200
        case_no = submit(
            api, [transfer_payload(to=account_at(b), amount="75000.00") for b in banks]
        )
        case = wait_for(
            lambda: _settled_trail(api, case_no, stops=len(banks) + 1),
            timeout=90,
            what="the tree to settle",
        )
        case = wait_for(lambda: settled(api, case_no), timeout=60, what="the last queries")

        levels = _levels(case)
        stops = stop_payments(case)
        stop_levels = Counter(levels[s["account_no"]] for s in stops)
        assert set(stop_levels) <= {1, 2, 3}
        assert stop_levels[1] == len(banks)
        assert stop_levels[2] > 0
        assert len({s["account_no"] for s in stops}) == len(stops), "one stop per account"
        assert {s["institution"] for s in stops if levels[s["account_no"]] == 1} == set(banks)
        by_id = {i["id"]: i for i in case["instructions"]}
        for stop in stops:
            if levels[stop["account_no"]] > 1:
                assert stop["id"] in {
                    i
                    for e in case["events"]
                    if e["kind"] == "trace.followed"
                    for i in e["data"]["instructions"]
                }
        assert all(i["state"] == "done" for i in by_id.values())
        assert_exactly_once(sim, case)


def test_scenario_7_an_account_held_by_another_case_is_not_stopped_again(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    mule = account_at("CCB", holder="刘某")
    with fresh_simulator.api(headers) as api, fresh_simulator.simulator() as sim:
        first = submit(api, [transfer_payload(to=mule, amount="50000.00")])
        held = wait_for(lambda: settled(api, first), timeout=30, what="the first case")
        second = submit(api, [transfer_payload(to=mule, amount="30000.00")])
        case = wait_for(lambda: settled(api, second), timeout=30, what="the second case")

        assert stop_payments(case) == []
        [account] = [a for lvl in case["levels"] for a in lvl["accounts"] if a["level"] == 1]
        [stop] = stop_payments(held)
        assert account["held_by"]["case_no"] == first
        assert (account["held_by"]["instruction_id"], account["held_by"]["outcome"]) == (
            stop["id"],
            "stopped_full",
        )
        assert first in account["shared_with"]
        assert second in [
            a
            for lvl in read_case(api, first)["levels"]
            for acc in lvl["accounts"]
            for a in acc["shared_with"]
        ]
        applied = sim.get("/admin/ledger", params={"case_no": second, "entry": "applied"}).json()
        assert [e["kind"] for e in applied] == ["register"]
