"""Dispatch tasks: send instructions (together, then one by one on retry); relay the outbox;
escalate what is overdue."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import random
from concurrent.futures import FIRST_COMPLETED
from dataclasses import dataclass
from decimal import Decimal

from celery import Task
from sqlalchemy import update
from sqlalchemy.orm import Session

from app import logs
from app.config import get_settings
from app.db import transaction, utcnow
from app.dispatch.failures import FailureClass
from app.dispatch.publish import Item, Lane, Publisher
from app.dispatch.relay import due_for_publishing
from app.dispatch.transitions import (
    SendOrder,
    claim_attempt,
    claim_attempts,
    escalate_overdue,
    record_ack,
    record_failure,
    record_rejection,
)
from app.institutions.models import BreakerState, Institution
from workers import aio
from workers.adapters import PermanentFailure, RetryableFailure, adapter_for
from workers.adapters.registry import max_in_flight
from workers.breaker import breaker_for, slot
from workers.celery_app import celery_app
from workers.db import task_sessionmaker

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=20)
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
SLOT_WAIT_S = 2.0


def backoff_s(retries: int, retry_after_s: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the institution asked."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**retries)
    return max(random.uniform(ceiling / 2, ceiling), retry_after_s or 0.0)


def _callback_url(code: str) -> str:
    return f"{get_settings().public_api_url}/api/v1/callbacks/{code}"


@dataclass(frozen=True)
class Attempt:
    """What one call to an institution came to: its reference, or why not."""

    order: SendOrder
    at: dt.datetime
    reference: str | None = None
    failure: RetryableFailure | PermanentFailure | None = None
    # The institution's circuit breaker, when this call changed its state.
    breaker: BreakerState | None = None


async def _call(order: SendOrder) -> Attempt:
    """One call to the institution, on the worker's event loop; never raises for the
    institution's failures."""
    code = order.institution_code
    breaker = breaker_for(code)
    if not breaker.allow():
        failure = RetryableFailure(
            f"{code}: circuit open",
            failure=FailureClass.circuit_open,
            retry_after_s=breaker.retry_in_s(),
        )
        return Attempt(order, utcnow(), failure=failure)
    places = max_in_flight(order.adapter)
    async with slot(code, places, wait_s=SLOT_WAIT_S, at_stake=order.amount) as got:
        if not got:
            failure = RetryableFailure(
                f"{code}: at its concurrency cap", failure=FailureClass.busy, retry_after_s=1.0
            )
            return Attempt(order, utcnow(), failure=failure)
        try:
            adapter = adapter_for(code, order.adapter)
            ack = await adapter.send(order, callback_url=_callback_url(code))
        except RetryableFailure as exc:
            return Attempt(order, utcnow(), failure=exc, breaker=breaker.failed())
        except PermanentFailure as exc:
            return Attempt(order, utcnow(), failure=exc)
    return Attempt(order, utcnow(), reference=ack.reference, breaker=breaker.succeeded())


def _record(db: Session, attempt: Attempt) -> str:
    """Write what an attempt came to: "acked", "rejected" or "retry" (a retryable failure)."""
    order, failure = attempt.order, attempt.failure
    if attempt.breaker is not None:
        log.warning(
            "circuit breaker for %s is now %s", order.institution_code, attempt.breaker.value
        )
        db.execute(
            update(Institution)
            .where(Institution.code == order.institution_code)
            .values(breaker_state=attempt.breaker.value, breaker_changed_at=attempt.at)
        )
    if isinstance(failure, PermanentFailure):
        log.warning("instruction %d refused: %s", order.instruction_id, failure)
        record_rejection(
            db, instruction_id=order.instruction_id, error=failure.described, now=attempt.at
        )
        return "rejected"
    if failure is not None:
        record_failure(
            db,
            instruction_id=order.instruction_id,
            error=str(failure),
            failure=failure.failure,
            now=attempt.at,
        )
        return "retry"
    assert attempt.reference is not None
    record_ack(db, instruction_id=order.instruction_id, reference=attempt.reference, now=attempt.at)
    return "acked"


def _about(order: SendOrder) -> dict[str, object]:
    return {
        "case_no": order.case_no,
        "instruction_id": order.instruction_id,
        "institution": order.institution_code,
    }


@celery_app.task(name="dispatch.send_instruction", bind=True, max_retries=None)
def send_instruction(self: Task, instruction_id: int) -> str:  # type: ignore[type-arg]
    """Send one instruction again after a failed attempt; retried with backoff until the
    institution takes it."""
    logs.bind(instruction_id=instruction_id)
    factory = task_sessionmaker()
    with transaction(factory) as db:
        order = claim_attempt(db, instruction_id=instruction_id, now=utcnow(), lease=LEASE)
    if order is None:
        return "skipped"
    # The claim read them anyway: every line from here on names the case and institution.
    logs.bind(**_about(order))
    attempt = aio.run(_call(order))
    with transaction(factory) as db:
        result = _record(db, attempt)
    if result == "retry":
        retry_after = getattr(attempt.failure, "retry_after_s", None)
        countdown = backoff_s(self.request.retries, retry_after)
        log.warning(
            "instruction %d attempt %d failed, retrying in %.1f s: %s",
            instruction_id,
            order.attempt,
            countdown,
            attempt.failure,
        )
        raise self.retry(countdown=countdown, exc=attempt.failure)
    return result


@celery_app.task(name="dispatch.fan_out")
def fan_out(instruction_ids: list[int], priority: str, lane: str = Lane.banks.value) -> int:
    """First attempts at instructions of one lane, sent together.

    One statement claims them all; every call goes out at once on the worker's event loop,
    the biggest amount at stake first (at an institution's cap, it also gets the next free
    place); answers are written as they come, as many as have come in one transaction. Each
    one that failed for now becomes its own `dispatch.send_instruction` task, retried with
    backoff. Returns how many were claimed (the others were done, or another worker has them).
    """
    factory = task_sessionmaker()
    with transaction(factory) as db:
        orders = claim_attempts(db, instruction_ids=instruction_ids, now=utcnow(), lease=LEASE)
    orders.sort(key=lambda o: -(o.amount or 0))
    waiting = {aio.submit(_call(order)) for order in orders}
    publisher = Publisher(celery_app, get_settings().broker_url or "")
    while waiting:
        done, waiting = concurrent.futures.wait(waiting, return_when=FIRST_COMPLETED)
        # A call that raised (a bug, not the institution) is left to the relay.
        attempts = [f.result() for f in done if f.exception() is None]
        for failed in (f for f in done if f.exception() is not None):
            log.error("an institution call failed", exc_info=failed.exception())
        retries: list[Attempt] = []
        with transaction(factory) as db:
            for attempt in attempts:
                with logs.bound(**_about(attempt.order)):
                    if _record(db, attempt) == "retry":
                        retries.append(attempt)
        for attempt in retries:
            retry_after = getattr(attempt.failure, "retry_after_s", None)
            countdown = backoff_s(0, retry_after)
            with logs.bound(**_about(attempt.order)):
                log.warning(
                    "instruction %d attempt %d failed, retrying in %.1f s: %s",
                    attempt.order.instruction_id,
                    attempt.order.attempt,
                    countdown,
                    attempt.failure,
                )
            order = attempt.order
            item = Item(order.instruction_id, priority, Lane(lane), order.amount or Decimal(0))
            publisher.send_later(item, countdown=countdown)
    return len(orders)


@celery_app.task(name="dispatch.relay_outbox")
def relay_outbox() -> int:
    """Publish what the fast path missed: unconfirmed outbox rows and idle instructions."""
    settings = get_settings()
    publisher = Publisher(celery_app, settings.broker_url or "")
    with transaction(task_sessionmaker()) as db:
        idle_after = dt.timedelta(seconds=settings.relay_idle_after_s)
        due = due_for_publishing(db, now=utcnow(), idle_after=idle_after)
        sent = publisher.publish(due)
    if sent:
        log.info("relay published %d instruction task(s)", sent)
    return sent


@celery_app.task(name="dispatch.escalate_overdue")
def escalate() -> int:
    with transaction(task_sessionmaker()) as db:
        return escalate_overdue(db, now=utcnow())
