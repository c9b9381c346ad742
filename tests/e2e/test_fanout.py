"""End to end: real API, worker, beat, broker, database and simulator processes.

After each test the simulator's ledger (what the institution actually did) is checked against
our database: every instruction applied exactly once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, wait_for
from tests.factories import card_no, case_payload, transfer_payload

pytestmark = pytest.mark.slow


def _case(api: httpx.Client, case_no: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/cases/{case_no}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _settled(api: httpx.Client, case_no: str) -> dict[str, Any] | None:
    """The case once no instruction is still on its way, else None."""
    case = _case(api, case_no)
    if any(i["state"] in ("pending", "sent", "escalated") for i in case["instructions"]):
        return None
    return case


def _applied(sim: httpx.Client, case_no: str) -> Counter[str]:
    """How many times the simulator applied each idempotency key of the case."""
    ledger = sim.get("/admin/ledger", params={"case_no": case_no}).json()
    entries = ledger["entries"] if isinstance(ledger, dict) else ledger
    return Counter(e["idempotency_key"] for e in entries if e["entry"] == "applied")


def _assert_exactly_once(sim: httpx.Client, case: dict[str, Any]) -> None:
    applied = _applied(sim, case["case_no"])
    assert set(applied.values()) == {1}, applied
    assert len(applied) == len(case["instructions"])


def test_scenario_1_one_card_fully_stopped(fresh_simulator: Stack, headers: dict[str, str]) -> None:
    stack = fresh_simulator
    target = {"institution": "CCB", "account_no": card_no("CCB", 455_400), "holder_name": "刘某"}
    payload = case_payload(transfers=[transfer_payload(to=target, amount="455400.00")])
    with stack.api(headers) as api, stack.simulator() as sim:
        created = api.post("/api/v1/cases", json=payload)
        assert created.status_code == 201, created.text
        case_no = created.json()["case_no"]
        case = wait_for(lambda: _settled(api, case_no), timeout=30, what="the case to settle")
        [stop] = [i for i in case["instructions"] if i["kind"] == "stop_payment"]
        assert (stop["outcome"], stop["amount_stopped"]) == ("stopped_full", "455400.00")
        assert stop["institution_ref"]
        assert stop["ack_ms"] is not None
        assert stop["completion_ms"] >= stop["ack_ms"]
        [register] = [i for i in case["instructions"] if i["kind"] == "register"]
        assert register["outcome"] == "registered"
        assert case["status"] == "stopped"
        _assert_exactly_once(sim, case)
