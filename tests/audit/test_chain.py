"""The tamper-evident audit chain: sealing, verifying, and what tampering looks like."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.audit import chain
from app.audit.chain import GENESIS
from app.audit.models import Event, EventSeal
from app.audit.service import allow_audit_writes, record_event
from app.db import make_engine, make_sessionmaker, transaction
from tests.audit.keyring import AUDIT_KEY, AUDIT_KEY_ID, KEYS
from tests.conftest import TEST_SECRET, migrated_database


def seal(db: Session) -> int:
    return chain.seal(db, keys=KEYS, close_after_s=0)


def verify(db: Session) -> chain.Verdict:
    return chain.verify(db, keys=KEYS)


def _sealed(db: Session, count: int) -> list[Event]:
    events = [
        record_event(db, kind="test.sealed", data={"n": n, "名": "张三"}) for n in range(count)
    ]
    db.flush()
    while seal(db):
        pass
    return events


def _seal_of(db: Session, event: Event) -> EventSeal:
    return db.execute(select(EventSeal).where(EventSeal.event_id == event.id)).scalar_one()


def test_every_event_is_sealed_once_in_a_chain_that_verifies(db: Session) -> None:
    events = _sealed(db, 5)
    assert seal(db) == 0
    links = [_seal_of(db, e) for e in events]
    assert [b.prev_hash for b in links[1:]] == [a.hash for a in links[:-1]]
    first = db.scalars(select(EventSeal).order_by(EventSeal.seq).limit(1)).one()
    assert first.prev_hash == GENESIS
    later = record_event(db, kind="test.later")
    db.flush()
    assert seal(db) == 1
    assert _seal_of(db, later).prev_hash == links[-1].hash
    verdict = verify(db)
    assert verdict.intact
    assert verdict.unsealed == 0
    assert verdict.sealed >= 6


def test_an_edited_event_breaks_the_chain_at_its_seal(db: Session) -> None:
    events = _sealed(db, 3)
    # Only someone who can lift the database's refusal can edit an event at all.
    db.execute(text("ALTER TABLE event DISABLE TRIGGER event_append_only"))
    db.execute(text("UPDATE event SET data = '{\"n\": 99}' WHERE id = :id"), {"id": events[1].id})
    db.expire_all()
    verdict = verify(db)
    assert verdict.broken_at == _seal_of(db, events[1]).seq
    assert verdict.reason == f"event {events[1].id} is not what was sealed"


def test_a_removed_link_breaks_the_chain(db: Session) -> None:
    events = _sealed(db, 3)
    gone = _seal_of(db, events[1]).seq
    db.execute(text("ALTER TABLE event_seal DISABLE TRIGGER event_seal_append_only"))
    db.execute(text("DELETE FROM event_seal WHERE seq = :seq"), {"seq": gone})
    verdict = verify(db)
    assert (verdict.broken_at, verdict.reason) == (gone, f"seal {gone} is missing")


def test_a_link_rewritten_to_point_elsewhere_breaks_the_chain(db: Session) -> None:
    """A seal whose own hash still matches its event, but which no longer follows the seal
    before it (someone re-chained from there): named as such."""
    events = _sealed(db, 3)
    moved = _seal_of(db, events[2]).seq
    db.execute(text("ALTER TABLE event_seal DISABLE TRIGGER event_seal_append_only"))
    db.execute(
        text("UPDATE event_seal SET prev_hash = :other WHERE seq = :seq"),
        {"other": GENESIS, "seq": moved},
    )
    db.expire_all()
    verdict = verify(db)
    assert (verdict.broken_at, verdict.reason) == (moved, "it does not follow the seal before it")


def test_the_chain_refuses_edits_like_the_events(db: Session) -> None:
    [event] = _sealed(db, 1)
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM event_seal WHERE event_id = :id"), {"id": event.id})


def test_stopay_audit_verify_seals_then_names_the_first_broken_link(tmp_path: Path) -> None:
    with migrated_database() as url:
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as db:
            event = record_event(db, kind="test.cli", data={"amount": "455400.00"})
            db.flush()
            event_id = event.id
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "STOPAY_SECRET_KEY": TEST_SECRET,
            "STOPAY_DEMO": "false",
            "STOPAY_AUDIT_KEY": AUDIT_KEY,
            "STOPAY_AUDIT_KEY_ID": AUDIT_KEY_ID,
            "STOPAY_AUDIT_CHECKPOINT_FILE": str(tmp_path / "checkpoints.log"),
        }
        command = [sys.executable, "-m", "app.cli", "audit", "verify"]
        ok = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert ok.returncode == 0, ok.stderr
        assert "Intact:" in ok.stdout
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE event DISABLE TRIGGER event_append_only"))
            conn.execute(
                text('UPDATE event SET data = \'{"amount": "1.00"}\' WHERE id = :id'),
                {"id": event_id},
            )
        broken = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        engine.dispose()
        assert broken.returncode == 1
        assert f"event {event_id} is not what was sealed" in broken.stderr


def test_two_sealers_at_once_make_one_chain(fresh_sessionmaker: sessionmaker[Session]) -> None:
    """Beat's task can overlap a slow pass, or `stopay audit verify` can run beside it."""
    with transaction(fresh_sessionmaker) as db:
        for n in range(50):
            record_event(db, kind="test.concurrent", data={"n": n})
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with transaction(fresh_sessionmaker) as db:
                start.wait()
                seal(db)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with fresh_sessionmaker() as db:
        verdict = verify(db)
    assert verdict.intact
    assert verdict.unsealed == 0


def test_late_events_beyond_a_full_batch_are_not_shut_out(own_db: Session) -> None:
    """Transactions commit out of id order: events with low ids arriving after higher ones
    were sealed are sealed too, even when a pass cannot take them all at once."""
    db = own_db
    late_ids = list(
        db.scalars(
            text("SELECT nextval(pg_get_serial_sequence('event', 'id')) FROM generate_series(1, 3)")
        )
    )
    for n in range(2):
        record_event(db, kind="test.early", data={"n": n})
    db.flush()
    assert seal(db) == 2
    allow_audit_writes(db)
    db.add_all(Event(id=i, kind="test.late", actor_kind="system", data={}) for i in late_ids)
    db.flush()
    assert chain.seal(db, keys=KEYS, close_after_s=0, batch=2) == 2
    assert chain.seal(db, keys=KEYS, close_after_s=0, batch=2) == 1
    verdict = verify(db)
    assert verdict.intact, (verdict.reason, verdict.findings)
    assert verdict.unsealed == 0
