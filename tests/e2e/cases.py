"""A case through the API of a running stack, and the simulator's ledger checked against it:
what every end-to-end test does."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.factories import case_payload, transfer_payload

SCENARIOS = Path(__file__).parents[2] / "scenarios"


def account_at(code: str, holder: str | None = "某某") -> dict[str, Any]:
    """A (non-card) account number at any bank, unique to this call."""
    number = f"81{uuid.uuid4().int % 10**15:015d}"
    return {"institution": code, "account_no": number, "holder_name": holder}


def submit(api: httpx.Client, transfers: list[dict[str, Any]]) -> str:
    """Report a case of these transfers; returns its number."""
    answer = api.post("/api/v1/cases", json=case_payload(transfers=transfers))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["case_no"])


def post_case(api: httpx.Client, *targets: dict[str, Any]) -> str:
    """Report a case of one victim payment to each of `targets`."""
    return submit(api, [transfer_payload(to=target) for target in targets])


def read_case(api: httpx.Client, case_no: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/cases/{case_no}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def settled(api: httpx.Client, case_no: str) -> dict[str, Any] | None:
    """The case once no instruction is still on its way, else None."""
    case = read_case(api, case_no)
    if any(i["state"] in ("pending", "sent", "escalated") for i in case["instructions"]):
        return None
    return case


def stop_payments(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in case["instructions"] if i["kind"] == "stop_payment"]


def event_kinds(case: dict[str, Any]) -> Counter[str]:
    return Counter(e["kind"] for e in case["events"])


def load_scenario(sim: httpx.Client, name: str) -> None:
    """Load a file of scenarios/ into the simulator."""
    answer = sim.post(
        "/admin/scenario",
        content=(SCENARIOS / name).read_bytes(),
        headers={"content-type": "application/yaml"},
    )
    assert answer.status_code == 200, answer.text


def applied(sim: httpx.Client, case_no: str) -> Counter[str]:
    """How many times the simulator applied each idempotency key of the case."""
    ledger = sim.get("/admin/ledger", params={"case_no": case_no}).json()
    entries = ledger["entries"] if isinstance(ledger, dict) else ledger
    return Counter(e["idempotency_key"] for e in entries if e["entry"] == "applied")


def assert_exactly_once(sim: httpx.Client, case: dict[str, Any]) -> None:
    """The simulator applied every instruction of the case, each exactly once."""
    counts = applied(sim, case["case_no"])
    assert set(counts.values()) == {1}, counts
    assert len(counts) == len(case["instructions"])
