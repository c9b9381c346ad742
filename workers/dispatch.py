"""Dispatch tasks: send one instruction; relay the outbox; escalate what is overdue."""

from __future__ import annotations

import datetime as dt
import logging
import random

from celery import Task
from sqlalchemy import update

from app import logs
from app.config import get_settings
from app.db import transaction, utcnow
from app.dispatch.publish import Lane, Publisher
from app.dispatch.relay import due_for_publishing
from app.dispatch.transitions import (
    SendOrder,
    claim_attempt,
    escalate_overdue,
    record_ack,
    record_failure,
    record_rejection,
)
from app.institutions.models import BreakerState, Institution
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


def _note_breaker(code: str, state: BreakerState | None) -> None:
    if state is None:
        return
    log.warning("circuit breaker for %s is now %s", code, state.value)
    with transaction(task_sessionmaker()) as db:
        db.execute(
            update(Institution)
            .where(Institution.code == code)
            .values(breaker_state=state.value, breaker_changed_at=utcnow())
        )


def _call(order: SendOrder) -> str:
    """One call to the institution; returns its reference or raises a failure."""
    code = order.institution_code
    breaker = breaker_for(code)
    if not breaker.allow():
        raise RetryableFailure(f"{code}: circuit open", retry_after_s=breaker.retry_in_s())
    with slot(code, max_in_flight(order.adapter), wait_s=SLOT_WAIT_S) as got:
        if not got:
            raise RetryableFailure(f"{code}: at its concurrency cap", retry_after_s=1.0)
        try:
            ack = adapter_for(code, order.adapter).send(order, callback_url=_callback_url(code))
        except RetryableFailure:
            _note_breaker(code, breaker.failed())
            raise
    _note_breaker(code, breaker.succeeded())
    return ack.reference


@celery_app.task(name="dispatch.send_instruction", bind=True, max_retries=None)
def send_instruction(self: Task, instruction_id: int) -> str:  # type: ignore[type-arg]
    """Send one instruction; retried with backoff until the institution takes it."""
    logs.bind(instruction_id=instruction_id)
    factory = task_sessionmaker()
    with transaction(factory) as db:
        order = claim_attempt(db, instruction_id=instruction_id, now=utcnow(), lease=LEASE)
    if order is None:
        return "skipped"
    # The claim read them anyway: every line from here on names the case and institution.
    logs.bind(case_no=order.case_no, institution=order.institution_code)
    try:
        reference = _call(order)
    except RetryableFailure as exc:
        with transaction(factory) as db:
            record_failure(db, instruction_id=instruction_id, error=str(exc), now=utcnow())
        countdown = backoff_s(self.request.retries, exc.retry_after_s)
        log.warning("instruction %d attempt %d failed, retrying in %.1f s: %s",
                    instruction_id, order.attempt, countdown, exc)  # fmt: skip
        raise self.retry(countdown=countdown) from exc
    except PermanentFailure as exc:
        log.warning("instruction %d refused: %s", instruction_id, exc)
        with transaction(factory) as db:
            record_rejection(db, instruction_id=instruction_id, error=exc.described, now=utcnow())
        return "rejected"
    with transaction(factory) as db:
        record_ack(db, instruction_id=instruction_id, reference=reference, now=utcnow())
    return "acked"


@celery_app.task(name="dispatch.fan_out")
def fan_out(instruction_ids: list[int], priority: str, lane: str = Lane.banks.value) -> int:
    """One case's instructions of one lane, published as one task each on that lane."""
    publisher = Publisher(celery_app, get_settings().broker_url or "")
    publisher.send_each(instruction_ids, priority, Lane(lane))
    return len(instruction_ids)


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
