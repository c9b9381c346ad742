"""The chain's head, checkpointed outside the database by beat's task and on shutdown."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from celery.signals import Signal, worker_shutdown, worker_shutting_down
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.checkpoint import Checkpoint, latest_checkpoint
from app.audit.models import EventSeal
from app.audit.service import record_event
from app.config import Settings
from tests.audit.keyring import AUDIT_KEY, AUDIT_KEY_ID, KEYS
from workers import maintenance
from workers.celery_app import celery_app


@pytest.fixture
def checkpoints(
    db: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The maintenance tasks on the test's transaction, with an audit key and a file."""
    path = tmp_path / "audit" / "checkpoints.log"
    configured = settings.model_copy(
        update={
            "audit_key": SecretStr(AUDIT_KEY),
            "audit_key_id": AUDIT_KEY_ID,
            "audit_checkpoint_file": path,
            "audit_close_after_s": 0.0,
        }
    )
    factory = sessionmaker(
        bind=db.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    monkeypatch.setattr(maintenance, "task_sessionmaker", lambda: factory)
    monkeypatch.setattr(maintenance, "get_settings", lambda: configured)
    return path


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _head(db: Session) -> EventSeal:
    return db.scalars(select(EventSeal).order_by(EventSeal.seq.desc()).limit(1)).one()


def test_beat_checkpoints_the_head_as_a_signed_line(db: Session, checkpoints: Path) -> None:
    entry = celery_app.conf.beat_schedule["checkpoint-audit-chain"]
    assert entry["task"] == "audit.checkpoint"
    assert entry["task"] in celery_app.tasks
    record_event(db, kind="test.checkpoint")
    db.flush()
    maintenance.seal_audit_trail()
    head = _head(db)
    assert maintenance.checkpoint_audit_chain() == head.seq
    assert maintenance.checkpoint_audit_chain() is None  # the head has not moved: no line
    [line] = _lines(checkpoints)
    assert (line["seq"], line["event_id"], line["hash"], line["key_id"]) == (
        head.seq,
        head.event_id,
        head.hash,
        AUDIT_KEY_ID,
    )
    assert latest_checkpoint(checkpoints, keys=KEYS) == Checkpoint(
        at=str(line["at"]),
        seq=head.seq,
        event_id=head.event_id,
        hash=head.hash,
        key_id=AUDIT_KEY_ID,
    )


@pytest.mark.parametrize("signal", [worker_shutting_down, worker_shutdown], ids=lambda s: s.name)
def test_a_stopping_worker_seals_and_checkpoints(
    db: Session, checkpoints: Path, signal: Signal
) -> None:
    record_event(db, kind="test.checkpoint")
    db.flush()
    maintenance.seal_audit_trail()
    maintenance.checkpoint_audit_chain()
    last = record_event(db, kind="test.before_shutdown")
    db.flush()
    for _, answer in signal.send(sender=None):
        if isinstance(answer, threading.Thread):  # the shutdown's start works on a thread
            answer.join(timeout=30)
    lines = _lines(checkpoints)
    assert len(lines) == 2
    assert lines[-1]["event_id"] == last.id
    assert lines[-1]["seq"] == _head(db).seq


def test_an_edited_checkpoint_line_is_named(db: Session, checkpoints: Path) -> None:
    from app.audit import chain

    record_event(db, kind="test.checkpoint")
    db.flush()
    maintenance.seal_audit_trail()
    maintenance.checkpoint_audit_chain()
    [line] = _lines(checkpoints)
    checkpoints.write_text(
        json.dumps({**line, "seq": int(str(line["seq"])) + 1}) + "\n", encoding="utf-8"
    )
    verdict = chain.verify(db, keys=KEYS, checkpoints=checkpoints)
    assert verdict.findings == (f"the last checkpoint in {checkpoints} is not correctly signed",)
