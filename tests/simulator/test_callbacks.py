"""Signed callbacks (contract section 2), retried until our side acknowledges them."""

from __future__ import annotations

import json
import socket
import time

import pytest
from standardwebhooks import WebhookVerificationError

from simulator.profiles import CallbackPolicy
from tests.simulator.peer import LEVEL1_CARD, Peer
from tests.simulator.servers import Delivery


def test_a_callback_is_signed_with_the_institutions_secret(peer: Peer) -> None:
    delivery = peer.delivered(peer.instruct("CCB"))

    assert delivery.verified
    assert delivery.headers["webhook-id"].startswith("msg_")
    assert delivery.headers["webhook-signature"].startswith("v1,")
    assert abs(int(delivery.headers["webhook-timestamp"]) - time.time()) < 60
    with pytest.raises(WebhookVerificationError):
        peer.receiver.signer("ICBC").verify(delivery.body, delivery.headers)


def test_the_callback_body_follows_the_contract(peer: Peer) -> None:
    delivery = peer.delivered(peer.instruct("CCB"))
    event = json.loads(delivery.body)

    assert event["type"] == "instruction.completed"
    assert event["timestamp"].endswith("Z")
    assert set(event["data"]) == {
        "idempotency_key",
        "reference",
        "kind",
        "account_no",
        "outcome",
        "amount_stopped",
        "balance",
        "mismatch_field",
        "effective_at",
        "onward_transfers",
        "cashed_out",
    }
    data = event["data"]
    assert data["account_no"] == LEVEL1_CARD
    assert (data["outcome"], data["balance"], data["cashed_out"]) == (
        "stopped_partial",
        "350000.00",
        "0.00",
    )
    assert data["onward_transfers"] == [
        {
            "institution": "CMB",
            "account_no": "6225880201234567895",
            "holder_name": "王某",
            "amount": "230000.00",
            "occurred_at": "2026-11-22T01:24:00.000Z",
            "reference": "T2026112209240001",
        }
    ]


def test_a_refused_callback_is_retried_with_the_same_id_until_acknowledged(peer: Peer) -> None:
    peer.receiver.answer_next(500, 503)
    key = peer.instruct("CCB")
    peer.delivered(key)

    deliveries = _deliveries_for(peer.receiver.deliveries(), key)
    assert [d.status_code for d in deliveries] == [500, 503, 200]
    assert all(d.verified for d in deliveries)
    assert len({d.webhook_id for d in deliveries}) == 1
    assert len({d.body for d in deliveries}) == 1
    sent = peer.ledger(idempotency_key=key, entry="callback_sent")
    assert [(e["attempt"], e["status_code"]) for e in sent] == [(1, 500), (2, 503), (3, 200)]
    assert {e["webhook_id"] for e in sent} == {deliveries[0].webhook_id}
    assert len(peer.ledger(idempotency_key=key, entry="callback_acknowledged")) == 1
    assert len(peer.ledger(idempotency_key=key, entry="applied")) == 1


def test_in_fail_mode_no_callback_goes_out_until_it_ends(peer: Peer) -> None:
    assert peer.admin("callbacks", {"mode": "fail", "seconds": None})["mode"] == "fail"
    key = peer.instruct("CCB")
    time.sleep(0.5)
    assert peer.receiver.deliveries() == []
    failed = peer.ledger(idempotency_key=key, entry="callback_sent")
    assert len(failed) >= 2
    assert all(e["status_code"] is None and "fail mode" in e["note"] for e in failed)

    assert peer.admin("callbacks", {"mode": "normal"})["mode"] == "normal"
    delivery = peer.delivered(key)
    assert delivery.webhook_id == failed[0]["webhook_id"]


def test_fail_mode_for_a_while(peer: Peer) -> None:
    peer.admin("callbacks", {"mode": "fail", "seconds": 0.3})
    key = peer.instruct("CCB")
    peer.delivered(key)
    sent = peer.ledger(idempotency_key=key, entry="callback_sent")
    assert sent[0]["status_code"] is None
    assert sent[-1]["status_code"] == 200


def test_an_unreachable_receiver_is_retried(peer: Peer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    key = peer.instruct("CCB", callback_url=f"http://127.0.0.1:{closed_port}/api/v1/callbacks/CCB")
    deadline = time.monotonic() + 5
    while len(peer.ledger(idempotency_key=key, entry="callback_sent")) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sent = peer.ledger(idempotency_key=key, entry="callback_sent")
    assert all(e["status_code"] is None and e["note"] for e in sent)


def test_the_retry_schedule_doubles_up_to_the_cap() -> None:
    delays = CallbackPolicy().delays()
    assert [next(delays) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def _deliveries_for(deliveries: list[Delivery], key: str) -> list[Delivery]:
    return [d for d in deliveries if d.data["idempotency_key"] == key]
