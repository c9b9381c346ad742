"""Housekeeping tasks run by beat."""

from __future__ import annotations

from app.cases.service import purge_expired_keys
from app.db import transaction, utcnow
from workers.celery_app import celery_app
from workers.db import task_sessionmaker


@celery_app.task(name="maintenance.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    with transaction(task_sessionmaker()) as db:
        return purge_expired_keys(db, now=utcnow())
