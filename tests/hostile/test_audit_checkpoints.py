"""The checkpoint file written by the real processes: beat's task on a worker, and a worker
told to stop. Starts processes: run under the stack lock."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.checkpoint import Checkpoint, latest_checkpoint
from app.audit.models import EventSeal
from app.audit.service import record_event
from app.db import make_engine, make_sessionmaker, transaction
from tests.audit.keyring import AUDIT_KEY_ID, KEYS
from tests.conftest import migrated_database
from tests.e2e.stack import running_stack

pytestmark = pytest.mark.slow
BROKER = "redis://127.0.0.1:6379/12"


def _record(sessions: sessionmaker[Session], kind: str) -> int:
    with transaction(sessions) as db:
        event = record_event(db, kind=kind)
        db.flush()
        return event.id


def _checkpointed(path: Path, event_id: int, timeout_s: float = 30) -> Checkpoint:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            point = latest_checkpoint(path, keys=KEYS)
            if point is not None and point.event_id == event_id:
                return point
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint of event {event_id} in {path} within {timeout_s} s")


def test_beat_and_a_stopping_worker_checkpoint_the_chain(tmp_path: Path) -> None:
    checkpoints = tmp_path / "audit" / "checkpoints.log"
    settings = {
        "STOPAY_AUDIT_KEY_ID": AUDIT_KEY_ID,
        "STOPAY_AUDIT_CHECKPOINT_FILE": str(checkpoints),
        "STOPAY_AUDIT_CHECKPOINT_INTERVAL_S": "1",
    }
    with migrated_database() as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        try:
            with running_stack(
                database_url=url,
                broker_url=BROKER,
                queue=f"audit-{uuid.uuid4().hex[:12]}",
                logs=tmp_path,
                settings=settings,
                services=("api", "beat"),
            ) as stack:
                first = _record(sessions, "test.beat")
                by_beat = _checkpointed(checkpoints, first)
                stack.stop("beat")
                last = _record(sessions, "test.before_shutdown")
                stack.stop("worker")
                by_worker = _checkpointed(checkpoints, last, timeout_s=1)
            with sessions() as db:
                head = db.scalars(select(EventSeal).order_by(EventSeal.seq.desc())).first()
        finally:
            engine.dispose()
    assert head is not None
    assert (by_worker.seq, by_worker.hash) == (head.seq, head.hash)
    assert by_worker.seq > by_beat.seq
    assert by_beat.key_id == by_worker.key_id == AUDIT_KEY_ID
