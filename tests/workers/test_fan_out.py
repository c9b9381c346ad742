"""A fan-out message's instructions go out together: one claim, every call at once, each
answer recorded; what failed for now gets a retry task of its own on the broker."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from kombu.exceptions import OperationalError
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.dispatch.models import Instruction
from app.dispatch.relay import due_for_publishing
from app.institutions.models import Institution
from tests.conftest import BROKER_URL
from tests.factories import instructions_of, make_case, transfer_payload
from workers import dispatch
from workers.celery_app import make_celery

# Longer than an institution takes (64): the simulator refuses it with a 422.
LONG_HOLDER = "欧阳" * 33
# Nothing listens here: a connection is refused, which is worth retrying.
CLOSED = "http://127.0.0.1:9"


@pytest.fixture
def queue(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The tasks' Celery app on the test broker, on a queue of this test's own."""
    if not BROKER_URL.startswith("redis"):
        pytest.skip("reads the queue back from Redis")
    name = f"test-fan-out-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(
        dispatch, "celery_app", make_celery(settings.model_copy(update={"queue": name}))
    )
    yield name
    client = redis.Redis.from_url(BROKER_URL)
    keys = client.keys(f"{name}*")
    if keys:
        client.delete(*keys)


def _queued(name: str) -> list[dict[str, Any]]:
    """The messages waiting on a queue (every priority's list), as Celery wrote them."""
    client = redis.Redis.from_url(BROKER_URL)
    messages = []
    for key in client.keys(f"{name}*"):
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            body = json.loads(base64.b64decode(message["body"]))
            messages.append({"headers": message["headers"], "args": body[0]})
    return messages


def _at(db: Session, stop: Instruction, url: str) -> None:
    db.get_one(Institution, stop.institution_id).adapter = {"kind": "http", "base_url": url}


@pytest.mark.usefixtures("in_test_transaction")
def test_one_message_acks_what_is_taken_rejects_what_is_refused_and_retries_the_rest(
    db: Session, simulator_url: str, queue: str
) -> None:
    # Three stop-payments at three banks, and one already done that must not be sent.
    stops = [i for i in instructions_of(db, make_case(db, transfers=3)) if i.kind == "stop_payment"]
    taken, refused, unreachable = stops
    done = next(i for i in instructions_of(db, make_case(db)) if i.kind == "stop_payment")
    done.state, done.outcome = "done", "stopped_full"
    refused.holder_name = LONG_HOLDER
    _at(db, taken, simulator_url)
    _at(db, refused, simulator_url)
    _at(db, unreachable, CLOSED)
    db.flush()

    ids = [stop.id for stop in stops] + [done.id]
    claimed = dispatch.fan_out.apply(args=[ids, "high", "banks"]).get()

    assert claimed == 3
    for stop in (*stops, done):
        db.refresh(stop)
    assert (taken.state, taken.attempts, taken.lease_until) == ("sent", 1, None)
    assert taken.institution_ref
    assert taken.acked_at
    assert (refused.state, refused.outcome, refused.attempts) == ("done", "rejected", 1)
    assert refused.last_failure == "refused"
    # Not taken this time: still to send, its lease given back, the reason kept.
    assert (unreachable.state, unreachable.attempts, unreachable.lease_until) == (
        "pending",
        1,
        None,
    )
    assert "cannot connect" in (unreachable.last_error or "")
    assert unreachable.last_failure == "unreachable"  # the class, as the adapter met it
    assert (done.attempts, done.state) == (0, "done")
    # Its retry is a task of its own, due after a backoff, counted as the first retry.
    [retry] = _queued(queue)
    assert retry["headers"]["task"] == "dispatch.send_instruction"
    assert retry["args"] == [unreachable.id]
    assert retry["headers"]["retries"] == 1
    assert retry["headers"]["eta"] is not None


@pytest.mark.usefixtures("in_test_transaction")
def test_with_the_broker_down_a_failed_first_attempt_is_left_for_the_relay(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its retry task cannot be published: the task fails, but the attempt is on record and
    the instruction is free (no lease), so the relay's idle check sends it again."""
    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:9/0"})
    monkeypatch.setattr(dispatch, "celery_app", make_celery(down))
    [stop] = [i for i in instructions_of(db, make_case(db)) if i.kind == "stop_payment"]
    _at(db, stop, CLOSED)
    db.flush()

    result = dispatch.fan_out.apply(args=[[stop.id], "medium", "banks"])

    assert result.failed()
    assert isinstance(result.result, OperationalError), result.result  # the broker, nothing else
    db.refresh(stop)
    assert (stop.state, stop.attempts, stop.lease_until) == ("pending", 1, None)
    assert "cannot connect" in (stop.last_error or "")
    later = utcnow() + dt.timedelta(hours=1)
    due = due_for_publishing(db, now=later, idle_after=dt.timedelta(seconds=45))
    assert stop.id in [item.instruction_id for item in due]


@pytest.mark.usefixtures("in_test_transaction", "queue")
def test_at_an_institutions_cap_the_biggest_amount_at_stake_is_sent_first(
    db: Session, simulator_url: str
) -> None:
    """One bank taking one call at a time, four stop-payments for it in one message: the
    simulator receives them biggest amount first, whatever order the report gave."""
    amounts = ["3000.00", "455400.00", "12000.00", "80000.00"]
    serials = [uuid.uuid4().int % 10**11 for _ in amounts]
    case_no = make_case(
        db,
        transfers=[
            transfer_payload(to_bank="CMB", to_serial=serial, amount=amount)
            for serial, amount in zip(serials, amounts, strict=True)
        ],
    )
    stops = [i for i in instructions_of(db, case_no) if i.kind == "stop_payment"]
    bank = db.get_one(Institution, stops[0].institution_id)
    bank.adapter = {"kind": "http", "base_url": simulator_url, "max_in_flight": 1}
    db.flush()

    assert dispatch.fan_out.apply(args=[[s.id for s in stops], "high", "banks"]).get() == 4

    entries = httpx.get(f"{simulator_url}/admin/ledger", params={"case_no": case_no}).json()
    received = [e["amount_requested"] for e in entries if e["entry"] == "received"]
    assert received == ["455400.00", "80000.00", "12000.00", "3000.00"]
