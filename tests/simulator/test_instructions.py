"""The instruction endpoint (contract section 1): acceptance, idempotency, refusals."""

from __future__ import annotations

from tests.simulator.peer import CASE_NO, LEVEL1_CARD, Peer, new_key


def test_an_instruction_is_accepted_with_a_reference_then_called_back(peer: Peer) -> None:
    key = new_key()
    response = peer.send("CCB", peer.instruction("CCB"), key=key)

    assert response.status_code == 202
    answer = response.json()
    assert answer["status"] == "accepted"
    assert answer["reference"].startswith("CCB-")
    data = peer.delivered(key).data
    assert data["reference"] == answer["reference"]
    assert data["idempotency_key"] == key
    assert data["kind"] == "stop_payment"
    assert data["account_no"] == LEVEL1_CARD
    assert [e["entry"] for e in peer.ledger(idempotency_key=key)] == [
        "received",
        "applied",
        "callback_sent",
        "callback_acknowledged",
    ]


def test_the_same_key_and_body_again_gets_the_same_reference_and_changes_nothing(
    peer: Peer,
) -> None:
    key = new_key()
    body = peer.instruction("CCB")
    first = peer.send("CCB", body, key=key).json()["reference"]
    assert peer.delivered(key).data["amount_stopped"] == "350000.00"

    for _ in range(3):
        repeat = peer.send("CCB", body, key=key)
        assert repeat.status_code == 202
        assert repeat.json()["reference"] == first

    # A new key for the same account finds the money already held for this case.
    renewal = peer.outcome("CCB")
    assert renewal["outcome"] == "stopped_partial"
    assert renewal["amount_stopped"] == "350000.00"
    assert len(peer.ledger(idempotency_key=key, entry="applied")) == 1
    assert len(peer.ledger(idempotency_key=key, entry="received")) == 4
    assert len(peer.ledger(idempotency_key=key, entry="callback_acknowledged")) == 1


def test_a_repeat_while_the_first_is_processing_gets_the_same_reference(peer: Peer) -> None:
    peer.profile("CCB", processing_ms=[300, 300])
    key = new_key()
    body = peer.instruction("CCB")
    first = peer.send("CCB", body, key=key).json()["reference"]
    assert peer.send("CCB", body, key=key).json()["reference"] == first
    peer.delivered(key)
    assert len(peer.ledger(idempotency_key=key, entry="applied")) == 1


def test_the_same_key_with_another_body_is_refused(peer: Peer) -> None:
    key = new_key()
    peer.instruct("CCB", key=key)

    reuse = peer.send("CCB", peer.instruction("CCB", amount="1.00"), key=key)

    assert reuse.status_code == 422
    assert "another body" in reuse.json()["detail"]
    peer.delivered(key)
    assert len(peer.ledger(idempotency_key=key, entry="applied")) == 1


def test_an_equal_body_written_differently_is_the_same_body(peer: Peer) -> None:
    key = new_key()
    first = peer.send("CCB", peer.instruction("CCB"), key=key).json()["reference"]
    same = peer.instruction(
        "CCB", amount="580000.0", transaction_time="2026-11-22T09:20:00+08:00", extra="ignored"
    )
    assert peer.send("CCB", same, key=key).json()["reference"] == first


def test_unknown_institution_missing_key_and_bad_bodies_are_refused(peer: Peer) -> None:
    body = peer.instruction("CCB")
    assert peer.send("NOSUCHBANK", body).status_code == 404
    no_key = peer.http.post("/institutions/CCB/instructions", json=body)
    assert no_key.status_code == 400
    assert no_key.headers["content-type"] == "application/problem+json"

    bad_bodies = [
        peer.instruction("CCB", kind="seize"),
        peer.instruction("CCB", amount="-5.00"),
        peer.instruction("CCB", amount="1.001"),
        peer.instruction("CCB", account_no=None),
        peer.instruction("CCB", transaction_time="2026-11-22T09:20:00"),  # no offset
        peer.instruction("CCB", kind="freeze"),  # no document_no
        peer.instruction("CCB", callback_url="ftp://example.org/"),
        peer.instruction("CCB", case_no=""),
    ]
    for body in bad_bodies:
        response = peer.send("CCB", body)
        assert response.status_code == 422, body
        assert response.json()["errors"], body
    assert (
        peer.http.post(
            "/institutions/CCB/instructions", content=b"{not json", headers={"Idempotency-Key": "k"}
        ).status_code
        == 422
    )
    assert peer.ledger(entry="applied") == []


def test_register_goes_to_the_national_platform_only(peer: Peer) -> None:
    register = {"kind": "register", "account_no": None, "holder_name": None}
    register |= {"transaction_time": None, "amount": "580000.00"}

    outcome = peer.outcome("NFPP", **register)

    assert outcome["outcome"] == "registered"
    assert outcome["account_no"] is None
    assert peer.send("CCB", peer.instruction("CCB", **register)).status_code == 422
    assert peer.send("NFPP", peer.instruction("NFPP")).status_code == 422
    applied = peer.ledger(institution="NFPP", entry="applied")
    assert [(e["case_no"], e["amount_requested"]) for e in applied] == [(CASE_NO, "580000.00")]


def test_without_a_callback_url_the_outcome_goes_to_our_public_api(peer: Peer) -> None:
    key = peer.instruct("CCB", callback_url=None)
    assert peer.delivered(key).institution == "CCB"
