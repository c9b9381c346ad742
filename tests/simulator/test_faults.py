"""What goes wrong on command: rate limits, injected faults and outages."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.simulator.peer import Peer, new_key


def test_over_the_rate_limit_it_answers_429_with_retry_after(peer: Peer) -> None:
    peer.profile("CCB", rate_limit_per_s=3, ack_ms=[0, 0])
    statuses = []
    for _ in range(10):
        response = peer.send("CCB", peer.instruction("CCB"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
    assert statuses[:3] == [202, 202, 202]
    assert 429 in statuses[3:]
    # Other institutions have their own budget.
    assert peer.send("ABC", peer.instruction("ABC")).status_code == 202
    limited = peer.ledger(institution="CCB", entry="received")
    assert [e["note"] for e in limited if e["status_code"] == 429][0] == "rate limited"


def test_injected_errors_follow_the_seed_key_and_attempt(peer: Peer) -> None:
    keys = [new_key() for _ in range(16)]

    def statuses() -> list[int]:
        peer.profile(error_rate=0.5, ack_ms=[0, 0])
        body = peer.instruction("ICBC", account_no="nothing-is-applied-here")
        return [peer.send("ICBC", body, key=key).status_code for key in keys for _ in range(2)]

    first = statuses()
    assert set(first) == {202, 500}
    assert peer.http.post("/admin/reset").status_code == 200
    assert statuses() == first


def test_injected_timeouts_hang_then_fail(peer: Peer) -> None:
    peer.profile("BOC", timeout_rate=1.0, hang_s=0.2)
    started = time.monotonic()
    response = peer.send("BOC", peer.instruction("BOC"))
    assert response.status_code == 503
    assert time.monotonic() - started >= 0.2
    with pytest.raises(httpx.ReadTimeout):
        peer.send("BOC", peer.instruction("BOC"), timeout_s=0.05)


def test_an_outage_refusing_connections_then_lifted(peer: Peer) -> None:
    key = new_key()
    body = peer.instruction("CCB")
    peer.admin("outage", {"institution": "CCB", "mode": "refuse", "seconds": None})

    refused = peer.send("CCB", body, key=key)
    assert refused.status_code == 503
    assert refused.headers["connection"] == "close"
    assert peer.send("ABC", peer.instruction("ABC")).status_code == 202
    listed = {i["code"]: i["outage"] for i in peer.http.get("/institutions").json()}
    assert listed["CCB"]["mode"] == "refuse"

    assert peer.http.delete("/admin/outage/CCB").json() == {"institution": "CCB", "lifted": True}
    assert peer.send("CCB", body, key=key).status_code == 202
    peer.delivered(key)
    assert len(peer.ledger(idempotency_key=key, entry="applied")) == 1


def test_an_erroring_outage_ends_by_itself(peer: Peer) -> None:
    peer.admin("outage", {"institution": "CCB", "mode": "error", "seconds": 0.3})
    assert peer.send("CCB", peer.instruction("CCB")).status_code == 500
    time.sleep(0.35)
    assert peer.send("CCB", peer.instruction("CCB")).status_code == 202


def test_a_hanging_outage_times_the_adapter_out_and_a_retry_goes_through(peer: Peer) -> None:
    key = new_key()
    body = peer.instruction("CCB")
    peer.admin("outage", {"institution": "CCB", "mode": "hang", "seconds": None})

    with pytest.raises(httpx.ReadTimeout):
        peer.send("CCB", body, key=key, timeout_s=0.3)

    peer.http.delete("/admin/outage/CCB")
    assert peer.send("CCB", body, key=key).status_code == 202
    peer.delivered(key)
    received = peer.ledger(idempotency_key=key, entry="received")
    assert [(e["status_code"], e["note"]) for e in received] == [
        (503, "outage: hang"),
        (202, None),
    ]


def test_outages_of_unknown_institutions_are_refused(peer: Peer) -> None:
    response = peer.http.post("/admin/outage", json={"institution": "NOPE", "mode": "refuse"})
    assert response.status_code == 404
    bad_mode = peer.http.post("/admin/outage", json={"institution": "CCB", "mode": "sulk"})
    assert bad_mode.status_code == 422
    assert peer.http.delete("/admin/outage/NOPE").status_code == 404
