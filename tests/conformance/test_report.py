"""The kit's verdicts without an institution: the table, the exit code, and the judgements
made on callbacks as they arrived."""

from __future__ import annotations

import json
import time

from app.conformance.callbacks import check_retry, check_timestamps
from app.conformance.client import Answer
from app.conformance.instructions import Sent
from app.conformance.receiver import Delivery
from app.conformance.report import exit_code, failed, not_observed, passed, render_table
from app.conformance.run import _replay

KEY = "conf0123456789abcdef"


def delivery(webhook_id: str, *, status: int = 200, **event: object) -> Delivery:
    body = {"type": "instruction.completed", "data": {"idempotency_key": KEY}, **event}
    headers = {"webhook-id": webhook_id}
    return Delivery(time.monotonic(), headers, json.dumps(body).encode(), status)


def accepted(reference: str) -> Answer:
    return Answer(202, {}, {"reference": reference, "status": "accepted"}, time.monotonic())


def test_the_table_lists_every_check_and_a_summary() -> None:
    results = [
        passed("new-key", "202, reference X-1"),
        failed("key-reuse", "wanted 422; got 202"),
        not_observed("rate-limit-retry-after", "no 429 in 200 requests"),
    ]
    lines = render_table(results).splitlines()
    assert lines[0].split() == ["check", "result", "detail"]
    assert lines[2].split()[:2] == ["new-key", "PASS"]
    assert lines[3].split()[:2] == ["key-reuse", "FAIL"]
    assert "NOT OBSERVED" in lines[4]
    assert lines[-1] == "1 passed, 1 failed, 1 not observed"


def test_only_a_failure_makes_the_exit_code_non_zero() -> None:
    assert exit_code([passed("a"), not_observed("b", "no 429")]) == 0
    assert exit_code([passed("a"), failed("b", "wrong")]) == 1
    assert exit_code([]) == 0


def test_a_second_callback_event_for_a_replayed_key_is_a_second_effect() -> None:
    sent = Sent(key=KEY, kind="stop_payment", first=accepted("R-1"), replay=accepted("R-1"))
    one = [delivery("msg_1", status=503), delivery("msg_1")]
    assert _replay(sent, one).status.value == "PASS"
    two = [*one, delivery("msg_2")]
    verdict = _replay(sent, two)
    assert verdict.status.value == "FAIL"
    assert "2 callback events" in verdict.detail


def test_a_retry_under_a_new_webhook_id_is_named() -> None:
    deliveries = [delivery("msg_1", status=503), delivery("msg_2")]
    verdict = check_retry(deliveries, key=KEY, failed_id="msg_1")
    assert verdict.status.value == "FAIL"
    assert "came back as webhook-id msg_2" in verdict.detail


def test_times_need_their_offset() -> None:
    good = delivery("msg_1", timestamp="2026-11-22T01:41:03.123Z")
    assert check_timestamps([good]).status.value == "PASS"
    naive = delivery("msg_2", timestamp="2026-11-22T01:41:03")
    verdict = check_timestamps([good, naive])
    assert verdict.status.value == "FAIL"
    assert "msg_2: timestamp" in verdict.detail
    assert check_timestamps([]).status.value == "NOT OBSERVED"
