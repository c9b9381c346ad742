"""Publishing instruction tasks: at once after the commit (fast path), and by the relay.

The fast path never delays the answer to the call-taker and never loses anything when it
fails: the outbox row written with the instruction is what the relay looks at.

Order: the case's priority first (special, high, medium, low), then the money at stake (the
amount an instruction chases: a level-1 transfer, or what a level-2+ account received). The
broker serves a bigger amount's message sooner within a priority, a message holds the
biggest amounts of its group first, and a worker at an institution's concurrency cap gives
the next free place to the biggest amount waiting (workers/breaker.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from celery import Celery
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.cases.models import Priority

log = logging.getLogger(__name__)

SEND_TASK = "dispatch.send_instruction"
FAN_OUT_TASK = "dispatch.fan_out"
_PENDING = "stopay.to_publish"
_PUBLISHER = "stopay.publisher"
FAN_OUT_CHUNK = 20
_ORDER = [Priority.special, Priority.high, Priority.medium, Priority.low]


class Lane(StrEnum):
    """Which workers send an instruction: banks (and the national platform) or payment
    institutions. A worker may take one lane or both (`stopay worker --lane`)."""

    banks = "banks"
    payments = "payments"


def lane_of(institution_kind: str) -> Lane:
    return Lane.payments if institution_kind == "payment_institution" else Lane.banks


def lane_queue(base: str, lane: Lane) -> str:
    """The banks' lane is the base queue (beat's tasks go there too); payments get their own."""
    return base if lane == Lane.banks else f"{base}.{lane.value}"


class Item(NamedTuple):
    """A task to publish: the instruction, its case's priority, the lane of its institution
    and the money it chases (0 when it chases none: a query, a registration)."""

    instruction_id: int
    priority: str
    lane: Lane
    at_stake: Decimal = Decimal(0)


# Money at stake in steps, biggest first: each priority's three broker steps.
STAKE_STEPS = (Decimal(100_000), Decimal(10_000))


def stake_step(at_stake: Decimal | None) -> int:
    """0 for 100,000 and more, 1 for 10,000 and more, else 2."""
    amount = at_stake or Decimal(0)
    return next((i for i, floor in enumerate(STAKE_STEPS) if amount >= floor), len(STAKE_STEPS))


def task_priority(priority: str, broker_url: str, at_stake: Decimal | None = None) -> int:
    """The broker priority for a task: the case's priority first (special and high go first
    when queues are long), then the money at stake within it (low has one step left).

    Redis serves 0 first; RabbitMQ serves the highest number first.
    """
    rank = min(9, _ORDER.index(Priority(priority)) * 3 + stake_step(at_stake))
    return 9 - rank if broker_url.startswith(("amqp", "pyamqp")) else rank


def _first_served(group: tuple[tuple[str, Lane, int], list[Item]]) -> tuple[int, int]:
    (priority, _, step), _ = group
    return _ORDER.index(Priority(priority)), step


class Publisher:
    """Sends tasks from a background thread, so a slow or dead broker never blocks a request."""

    def __init__(self, celery: Celery, broker_url: str) -> None:
        self.celery = celery
        self.broker_url = broker_url
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def publish(self, items: Iterable[Item]) -> int:
        """Send tasks now; returns how many instructions.

        Instructions of one priority, lane and step of money at stake go as `dispatch.fan_out`
        messages of up to FAN_OUT_CHUNK, each of which a worker sends together: publishing a
        157-account case costs the API a handful of messages, not 157, and the workers one
        claim and one batch of calls per message. The biggest amounts go first, in the first
        message, which the broker also serves first (`task_priority`).
        """
        groups: dict[tuple[str, Lane, int], list[Item]] = {}
        for item in sorted(items, key=lambda i: (-(i.at_stake or 0), i.instruction_id)):
            key = (item.priority, item.lane, stake_step(item.at_stake))
            groups.setdefault(key, []).append(item)
        with self.celery.producer_or_acquire() as producer:
            for (priority, lane, _), group in sorted(groups.items(), key=_first_served):
                for start in range(0, len(group), FAN_OUT_CHUNK):
                    chunk = group[start : start + FAN_OUT_CHUNK]
                    self._send(
                        FAN_OUT_TASK,
                        [[i.instruction_id for i in chunk], priority, lane.value],
                        priority,
                        lane,
                        at_stake=chunk[0].at_stake,
                        producer=producer,
                    )
        return sum(len(group) for group in groups.values())

    def send_later(self, item: Item, *, countdown: float) -> None:
        """A retry of a first attempt that failed: its own task, which goes on retrying."""
        self._send(
            SEND_TASK,
            [item.instruction_id],
            item.priority,
            item.lane,
            at_stake=item.at_stake,
            countdown=countdown,
            retries=1,
        )

    def _send(
        self,
        task: str,
        args: list[Any],
        priority: str,
        lane: Lane,
        *,
        at_stake: Decimal | None,
        **options: Any,
    ) -> None:
        self.celery.send_task(
            task,
            args=args,
            queue=lane_queue(self.celery.conf.task_default_queue, lane),
            priority=task_priority(priority, self.broker_url, at_stake),
            retry=False,
            **options,
        )

    def publish_soon(self, items: list[Item]) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
            self._pool.submit(self._publish_logged, items)

    def _publish_logged(self, items: list[Item]) -> None:
        try:
            self.publish(items)
        except Exception:  # the relay re-publishes whatever did not go out
            log.warning("fast-path publish failed; the outbox relay will send", exc_info=True)

    def close(self) -> None:
        """Finish what is queued (a shutdown loses nothing the relay would not resend)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def attach_publisher(session: Session, publisher: Publisher) -> None:
    session.info[_PUBLISHER] = publisher


def publish_after_commit(session: Session, items: Iterable[Item]) -> None:
    """Buffer tasks to publish once this session's transaction has committed."""
    session.info.setdefault(_PENDING, []).extend(items)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    items = session.info.pop(_PENDING, None)
    publisher = session.info.get(_PUBLISHER)
    if items and publisher is not None:
        # Committed is committed: nothing after this point may fail the request.
        try:
            publisher.publish_soon(items)
        except Exception:
            log.warning("could not queue the fast-path publish; the relay will", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
