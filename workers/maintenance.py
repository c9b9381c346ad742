"""Housekeeping tasks run by beat."""

from __future__ import annotations

import logging
import threading
from zoneinfo import ZoneInfo

from celery.signals import worker_shutdown, worker_shutting_down

from app.audit.chain import seal
from app.audit.checkpoint import write_checkpoint
from app.audit.keys import Keyring
from app.cases.service import purge_expired_keys
from app.config import get_settings
from app.db import transaction, utcnow
from app.flows import current_rules, deadline_passed
from app.legal.clock import legal_now
from workers.celery_app import celery_app
from workers.db import task_sessionmaker


@celery_app.task(name="maintenance.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    with transaction(task_sessionmaker()) as db:
        return purge_expired_keys(db, now=utcnow())


@celery_app.task(name="legal.watch_clock")
def watch_clock() -> dict[str, int]:
    """Warn of lapsing stop-payments and freezes due for renewal, mark lapsed holds expired,
    warn of overdue returns. Running it again at the same time changes nothing."""
    settings = get_settings()
    with transaction(task_sessionmaker()) as db:
        now = legal_now(db, settings)
        today = now.astimezone(ZoneInfo(settings.timezone)).date()
        done = deadline_passed(db, now=now, today=today, rules=current_rules())
    return {
        "lapse_warnings": done.lapse_warnings,
        "freeze_warnings": done.freeze_warnings,
        "lapsed": done.lapsed,
        "ended": done.ended,
        "returns_overdue": done.returns_overdue,
    }


@celery_app.task(name="audit.seal")
def seal_audit_trail() -> int:
    """Add the events written since the last pass to the tamper-evident chain."""
    settings = get_settings()
    with transaction(task_sessionmaker()) as db:
        return seal(
            db, keys=Keyring.from_settings(settings), close_after_s=settings.audit_close_after_s
        )


@celery_app.task(name="audit.checkpoint")
def checkpoint_audit_chain() -> int | None:
    """Append the chain's head to the checkpoint file outside the database; returns its seal
    number, or None when the head has not moved since the last line."""
    settings = get_settings()
    with transaction(task_sessionmaker()) as db:
        point = write_checkpoint(
            db, keys=Keyring.from_settings(settings), path=settings.audit_checkpoint_path
        )
    return None if point is None else point.seq


def _checkpoint_now() -> None:
    try:
        seal_audit_trail()
        checkpoint_audit_chain()
    except Exception:
        logging.getLogger(__name__).exception("audit checkpoint on shutdown failed")


@worker_shutting_down.connect
def _checkpoint_as_shutdown_begins(**_: object) -> threading.Thread:
    """A stopping worker seals what is waiting and checkpoints the head as its shutdown
    begins (a warm shutdown then waits for running tasks, and a container may be killed
    before it ends). Celery sends this signal from its signal handler, which interrupts the
    main thread wherever it is, holding a pool or logging lock perhaps: the work runs on a
    thread of its own, or it could wait forever on a lock its own thread holds."""
    worker = threading.Thread(target=_checkpoint_now, name="audit-checkpoint")
    worker.start()
    return worker


@worker_shutdown.connect
def _checkpoint_on_shutdown(**_: object) -> None:
    """Again at the shutdown's end, if the head moved meanwhile."""
    _checkpoint_now()
