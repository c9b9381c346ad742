"""How the simulator tests talk to it: over HTTP, as an adapter and as an admin would."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.simulator.servers import Delivery, Receiver

CASE_NO = "ZF-20261122-000123"
SEED_TIME = "2025-06-01T02:00:00Z"  # transfers to seeded accounts: long before any test runs

# Accounts of the scenario files the test simulator starts with (scenarios/).
TICKET_REFUND_CARD = "6222020302345678122"  # ICBC, 陈某, 455,400 all there
LEVEL1_CARD = "6217000201234567897"  # CCB, 刘某, 580,000 in, 350,000 left
LEVEL2_CARD = "6225880201234567895"  # CMB, 王某, 230,000 in, 210,000 left
LEVEL3_CARD = "6228480201234567893"  # ABC, 20,000 cashed out
MISSING_CARD = "6222020000000000000"  # ICBC, no such account


def new_key() -> str:
    return uuid.uuid4().hex


def only(mix: str) -> dict[str, float]:
    """An account mix where every seeded account behaves as `mix`."""
    shares = dict.fromkeys(("full", "partial", "moved", "not_found", "name_mismatch"), 0.0)
    shares[mix] = 1.0
    return shares


@dataclass
class Peer:
    """An adapter, an admin and our callback endpoint, all talking to one simulator."""

    http: httpx.Client
    receiver: Receiver
    receiver_url: str

    def instruction(self, code: str, **changes: Any) -> dict[str, Any]:
        """A stop-payment body (contract section 1), with `changes` laid over it."""
        body: dict[str, Any] = {
            "kind": "stop_payment",
            "case_no": CASE_NO,
            "account_no": LEVEL1_CARD,
            "holder_name": "刘某",
            "amount": "580000.00",
            "transaction_time": "2026-11-22T01:20:00Z",
            "reference": "MB20261122092000118",
            "document_no": None,
            "callback_url": f"{self.receiver_url}/api/v1/callbacks/{code}",
        }
        body.update(changes)
        return body

    def send(
        self, code: str, body: dict[str, Any], *, key: str | None = None, timeout_s: float = 10
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key or new_key()}
        return self.http.post(
            f"/institutions/{code}/instructions", json=body, headers=headers, timeout=timeout_s
        )

    def instruct(self, code: str, *, key: str | None = None, **changes: Any) -> str:
        """Send an instruction that must be accepted; returns its idempotency key."""
        key = key or new_key()
        response = self.send(code, self.instruction(code, **changes), key=key)
        assert response.status_code == 202, response.text
        return key

    def delivered(self, key: str, *, timeout_s: float = 5.0) -> Delivery:
        """The first callback for `key` we acknowledged, once the simulator has seen our 200."""

        def acknowledged(deliveries: list[Delivery]) -> bool:
            return any(_acknowledges(d, key) for d in deliveries)

        deliveries = self.receiver.wait_for(acknowledged, timeout_s=timeout_s)
        deadline = time.monotonic() + timeout_s
        while not self.ledger(idempotency_key=key, entry="callback_acknowledged"):
            assert time.monotonic() < deadline, f"no callback_acknowledged for {key}"
            time.sleep(0.005)
        return next(d for d in deliveries if _acknowledges(d, key))

    def outcome(self, code: str, *, key: str | None = None, **changes: Any) -> dict[str, Any]:
        """Send an instruction and wait for its outcome: the callback's `data`."""
        return self.delivered(self.instruct(code, key=key, **changes)).data

    def ledger(self, **filters: str) -> list[dict[str, Any]]:
        response = self.http.get("/admin/ledger", params=filters)
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        return entries

    def admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"/admin/{path}", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def profile(self, institution: str | None = None, **fields: Any) -> dict[str, Any]:
        return self.admin("profile", {"institution": institution, **fields})


def _acknowledges(delivery: Delivery, key: str) -> bool:
    return (
        delivery.verified
        and delivery.status_code == 200
        and delivery.data["idempotency_key"] == key
    )
