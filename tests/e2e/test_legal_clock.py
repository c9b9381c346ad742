"""The legal clock end to end: the real API, worker, beat and simulator; time driven through
the settable clock (beat looks at it every second), never by sleeping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from app.auth.models import Role
from tests.e2e.cases import (
    assert_exactly_once,
    event_kinds,
    load_scenario,
    read_case,
    settled,
    stop_payments,
    submit,
)
from tests.e2e.stack import Stack, wait_for
from tests.factories import fresh_card_no, transfer_payload

pytestmark = pytest.mark.slow

Staff = dict[Role, dict[str, str]]


@contextmanager
def clients(stack: Stack, staff: Staff) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """The call-taker's and the supervisor's API clients; the real clock again afterwards."""
    with stack.api(staff[Role.call_taker]) as api, stack.api(staff[Role.supervisor]) as boss:
        try:
            yield api, boss
        finally:
            with stack.api(staff[Role.admin]) as admin:
                assert admin.delete("/api/v1/admin/clock").status_code == 200


def set_clock(stack: Stack, staff: Staff, at: dt.datetime) -> None:
    with stack.api(staff[Role.admin]) as admin:
        answer = admin.put("/api/v1/admin/clock", json={"at": at.isoformat()})
        assert answer.status_code == 200, answer.text


def _post(client: httpx.Client, url: str, body: dict[str, Any], status: int = 201) -> Any:
    answer = client.post(url, json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _one_stopped_card(api: httpx.Client, amount: str) -> tuple[str, str, dict[str, Any]]:
    card = fresh_card_no("CCB")
    to = {"institution": "CCB", "account_no": card, "holder_name": "刘某"}
    case_no = submit(api, [transfer_payload(to=to, amount=amount)])
    case = wait_for(lambda: settled(api, case_no), timeout=30, what="the stop-payment")
    [stop] = stop_payments(case)
    assert (stop["outcome"], stop["amount_stopped"]) == ("stopped_full", amount)
    return case_no, card, stop


def test_scenario_8_a_stop_payment_with_no_freeze_is_warned_of_then_lapses(
    fresh_simulator: Stack, staff: Staff
) -> None:
    with clients(fresh_simulator, staff) as (api, boss):
        case_no, card, stop = _one_stopped_card(api, "50000.00")
        expires = _when(stop["expires_at"])
        assert expires == _when(stop["effective_at"]) + dt.timedelta(hours=48)

        set_clock(fresh_simulator, staff, expires - dt.timedelta(hours=5))
        case = wait_for(
            lambda: (c := read_case(api, case_no)) and event_kinds(c)["hold.lapse_warning"] and c,
            timeout=15,
            what="the lapse warning",
        )
        [warning] = [e for e in case["events"] if e["kind"] == "hold.lapse_warning"]
        assert warning["data"]["hours_left"] == 5.0
        assert stop_payments(case)[0]["state"] == "done"
        assert case["totals"]["stopped"] == "50000.00"

        set_clock(fresh_simulator, staff, expires + dt.timedelta(seconds=1))
        case = wait_for(
            lambda: (
                (c := read_case(api, case_no)) and stop_payments(c)[0]["state"] == "expired" and c
            ),
            timeout=15,
            what="the lapse",
        )
        kinds = event_kinds(case)
        assert (kinds["hold.lapse_warning"], kinds["hold.lapsed"]) == (1, 1)
        assert (case["totals"]["stopped"], case["totals"]["lapsed"]) == ("0.00", "50000.00")
        # Nothing holds the account now: there is nothing to renew; a freeze is the way.
        late = boss.post(
            f"/api/v1/cases/{case_no}/renewals", json={"institution": "CCB", "account_no": card}
        )
        assert late.status_code == 409


def test_a_stop_payment_is_renewed_once_then_frozen_then_released(
    fresh_simulator: Stack, staff: Staff
) -> None:
    with clients(fresh_simulator, staff) as (api, boss), fresh_simulator.simulator() as sim:
        case_no, card, first = _one_stopped_card(api, "60000.00")
        account = {"institution": "CCB", "account_no": card}
        base = f"/api/v1/cases/{case_no}"
        _post(boss, f"{base}/renewals", account)
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the renewal")
        renewal = stop_payments(case)[1]
        assert (renewal["outcome"], renewal["parent_id"]) == ("stopped_full", first["id"])
        assert _when(renewal["expires_at"]) == _when(first["expires_at"]) + dt.timedelta(hours=48)
        third = _post(boss, f"{base}/renewals", account, status=409)
        assert "at most 2 times" in third["detail"]

        _post(boss, f"{base}/freezes", {**account, "document_no": "穗公冻字〔2026〕1187号"})
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the freeze")
        [freeze] = [i for i in case["instructions"] if i["kind"] == "freeze"]
        assert (freeze["outcome"], freeze["amount_stopped"]) == ("frozen_full", "60000.00")
        assert case["status"] == "frozen"
        assert (case["totals"]["stopped"], case["totals"]["frozen"]) == ("0.00", "60000.00")

        _post(boss, f"{base}/releases", {**account, "reason": "经核实为正常经营收款"})
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the release")
        [release] = [i for i in case["instructions"] if i["kind"] == "release"]
        assert (release["outcome"], release["amount_stopped"]) == ("released", "60000.00")
        assert case["totals"]["frozen"] == "0.00"
        assert all(i["released_at"] for i in case["instructions"] if i["kind"] == "freeze")
        assert_exactly_once(sim, case)


def _returns(api: httpx.Client, case_no: str) -> list[dict[str, Any]]:
    return list(read_case(api, case_no)["returns"])


def test_returns_by_each_rule_with_exact_amounts(fresh_simulator: Stack, staff: Staff) -> None:
    mule_1, mule_2 = "6217000801234567894", "6217000802234567892"
    with clients(fresh_simulator, staff) as (api, boss), fresh_simulator.simulator() as sim:
        load_scenario(sim, "scenario-8-returns-two-victims.yaml")

        def paid(to: str, amount: str, at: str) -> dict[str, Any]:
            return transfer_payload(
                to={"institution": "CCB", "account_no": to}, amount=amount, occurred_at=at
            )

        a = submit(
            api,
            [
                paid(mule_1, "50000.00", "2026-11-22T09:00:00+08:00"),
                paid(mule_2, "50000.00", "2026-11-22T09:00:00+08:00"),
            ],
        )
        wait_for(lambda: settled(api, a), timeout=60, what="case A's trail")
        b = submit(
            api,
            [
                paid(mule_1, "30000.00", "2026-11-22T09:10:00+08:00"),
                paid(mule_2, "30000.00", "2026-11-22T09:10:00+08:00"),
            ],
        )
        held = [
            acc["held_by"]
            for lvl in read_case(api, b)["levels"]
            for acc in lvl["accounts"]
            if acc["level"] == 1
        ]
        assert [h["case_no"] for h in held] == [a, a]
        for mule in (mule_1, mule_2):
            _post(
                boss,
                f"/api/v1/cases/{a}/freezes",
                {"institution": "CCB", "account_no": mule, "document_no": f"D-{mule[-4:]}"},
            )
        case_a = wait_for(lambda: settled(api, a), timeout=30, what="both freezes")
        assert case_a["totals"]["frozen"] == "72000.00"

        splits = {}
        for mule in (mule_1, mule_2):
            proposal = boss.get(
                f"/api/v1/cases/{a}/returns/proposal",
                params={"institution": "CCB", "account_no": mule},
            ).json()
            splits[mule] = proposal
            _post(
                boss,
                f"/api/v1/cases/{a}/returns",
                {"institution": "CCB", "account_no": mule, "fingerprint": proposal["fingerprint"]},
            )
        by_time, pro_rata = splits[mule_1], splits[mule_2]
        assert by_time["rule"] == "by_time"
        assert {s["case_no"]: s["amount"] for s in by_time["shares"]} == {
            a: "10000.00",
            b: "30000.00",
        }
        assert pro_rata["rule"] == "pro_rata"
        assert {s["case_no"]: s["amount"] for s in pro_rata["shares"]} == {
            a: "20000.00",
            b: "12000.00",
        }

        # The traced-by-time returns are paid at once; the pro-rata ones after the notice.
        for case_no in (a, b):
            for row in _returns(api, case_no):
                url = f"/api/v1/cases/{case_no}/returns/{row['id']}/completion"
                early = boss.post(url, json={"reference": f"RT-{row['id']}"})
                assert early.status_code == (409 if row["rule"] == "pro_rata" else 200)
        notice_over = dt.datetime.fromisoformat(f"{pro_rata['notice_until']}T12:00:00+08:00")
        set_clock(fresh_simulator, staff, notice_over)
        for case_no in (a, b):
            for row in _returns(api, case_no):
                if row["state"] == "confirmed":
                    url = f"/api/v1/cases/{case_no}/returns/{row['id']}/completion"
                    _post(boss, url, {"reference": f"RT-{row['id']}"}, status=200)
        case_a, case_b = read_case(api, a), read_case(api, b)
        assert (case_a["totals"]["returned"], case_b["totals"]["returned"]) == (
            "30000.00",
            "42000.00",
        )
        assert (case_a["status"], case_b["status"]) == ("closed", "closed")
