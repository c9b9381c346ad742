from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import IdempotencyKey
from app.cases.service import purge_expired_keys
from app.db import utcnow
from tests.factories import make_user
from workers.celery_app import celery_app


def test_expired_idempotency_keys_are_purged_and_live_ones_kept(db: Session) -> None:
    user = make_user(db)
    now = utcnow()
    for key, expires in (
        ("old", now - dt.timedelta(seconds=1)),
        ("live", now + dt.timedelta(hours=1)),
    ):
        db.add(IdempotencyKey(user_id=user.id, key=key, request_hash="h", expires_at=expires))
    db.flush()
    assert purge_expired_keys(db, now=now) >= 1
    left = set(db.scalars(select(IdempotencyKey.key).where(IdempotencyKey.user_id == user.id)))
    assert left == {"live"}


def test_beat_runs_the_purge_every_hour() -> None:
    import workers.maintenance  # noqa: F401 - registers the task

    entry = celery_app.conf.beat_schedule["purge-idempotency-keys"]
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] <= 3600
