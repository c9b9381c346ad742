"""Attacks on the audit trail by someone with the database: each is done in raw SQL, as a
superuser with the triggers off, and `stopay audit verify` has to name it."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit import chain
from app.audit.models import Event, EventSeal
from app.audit.service import allow_audit_writes, record_event
from app.db import transaction
from tests.audit.keyring import KEYS
from tests.hostile.audit_fixtures import AuditTarget, audit_target, stopay_audit_verify

__all__ = ["audit_target"]  # the fixture, used by name


def _seals(conn_or_db: Session | AuditTarget) -> list[EventSeal]:
    if isinstance(conn_or_db, AuditTarget):
        with conn_or_db.sessions() as db:
            return _seals(db)
    return list(conn_or_db.scalars(select(EventSeal).order_by(EventSeal.seq)))


def test_deleting_the_newest_events_and_their_seals_is_named(audit_target: AuditTarget) -> None:
    ids = audit_target.record(5)
    audit_target.seal()
    point = audit_target.checkpoint()
    assert point is not None
    assert stopay_audit_verify().exit_code == 0
    gone = ids[-2:]
    with audit_target.superuser() as conn:
        conn.execute(text("DELETE FROM event_seal WHERE event_id = ANY(:ids)"), {"ids": gone})
        conn.execute(text("DELETE FROM event WHERE id = ANY(:ids)"), {"ids": gone})

    result = stopay_audit_verify()
    assert result.exit_code == 1
    assert (
        f"seal {point.seq} (event {gone[-1]}), checkpointed at {point.at}, is missing: the "
        f"chain was cut back to seal {point.seq - 2}"
    ) in result.stderr


def test_a_backdated_event_in_an_unused_id_is_named_and_never_sealed(
    audit_target: AuditTarget,
) -> None:
    audit_target.record(3)
    with audit_target.sessions() as db:  # a transaction that rolls back leaves its id unused
        unused = record_event(db, kind="test.rolled_back")
        db.flush()
        hole = unused.id
        db.rollback()
    audit_target.record(2)
    audit_target.seal()
    audit_target.record(1)
    audit_target.seal()  # this pass closes the range: every id up to the last sealed one
    before = stopay_audit_verify()
    assert before.exit_code == 0, before.output
    assert f"Ids never written (rolled back before sealing): {hole}\n" in before.output

    with audit_target.superuser() as conn:
        conn.execute(
            text(
                "INSERT INTO event (id, occurred_at, kind, actor_kind, data) VALUES "
                "(:id, now() - interval '3 days', 'case.closed', 'system', '{}')"
            ),
            {"id": hole},
        )

    result = stopay_audit_verify()
    assert result.exit_code == 1
    assert f"TAMPERED: event {hole} is in the closed range" in result.stderr
    assert hole not in {s.event_id for s in _seals(audit_target)}


def test_a_backdated_event_in_a_recent_unused_id_is_never_sealed_and_named(
    audit_target: AuditTarget,
) -> None:
    """The id is above every closed range (its transaction rolled back a moment ago), so the
    range check cannot catch it: the time can."""
    audit_target.record(2)
    with audit_target.sessions() as db:
        unused = record_event(db, kind="test.rolled_back")
        db.flush()
        hole = unused.id
        db.rollback()
    audit_target.record(2)
    with transaction(audit_target.sessions) as db:
        assert chain.seal(db, keys=KEYS, close_after_s=300) == 4
    with audit_target.superuser() as conn:
        conn.execute(
            text(
                "INSERT INTO event (id, occurred_at, kind, actor_kind, data) VALUES "
                "(:id, now() - interval '14 minutes', 'case.closed', 'system', '{}')"
            ),
            {"id": hole},
        )
    with transaction(audit_target.sessions) as db:
        assert chain.seal(db, keys=KEYS, close_after_s=300) == 0
        assert chain.verify(db, keys=KEYS).closed_upto < hole

    result = stopay_audit_verify()
    assert result.exit_code == 1
    assert f"TAMPERED: event {hole} is dated" in result.stderr
    assert "backdated, and is not sealed" in result.stderr
    assert hole not in {s.event_id for s in _seals(audit_target)}


def _public_hash(prev_hash: str, event: Event) -> str:
    """The unkeyed hash the chain used to have, which anyone can compute."""
    return hashlib.sha256(f"{prev_hash}\n{chain.content(event)}".encode()).hexdigest()


def test_an_edited_event_with_the_later_seals_recomputed_is_named(
    audit_target: AuditTarget,
) -> None:
    ids = audit_target.record(4)
    audit_target.seal()
    edited = ids[1]
    with audit_target.superuser() as conn:
        conn.execute(
            text("UPDATE event SET data = :data WHERE id = :id"),
            {"data": json.dumps({"n": 99}), "id": edited},
        )
    with audit_target.sessions() as db, db.begin():
        db.execute(text("SET LOCAL session_replication_role = replica"))
        links = _seals(db)
        start = next(i for i, s in enumerate(links) if s.event_id == edited)
        prev = links[start - 1].hash if start else chain.GENESIS
        for link in links[start:]:
            event = db.get_one(Event, link.event_id)
            link.prev_hash, link.hash = prev, _public_hash(prev, event)
            prev = link.hash
    assert [s.hash for s in _seals(audit_target)][start:] != [s.hash for s in links[:start]]

    result = stopay_audit_verify()
    assert result.exit_code == 1
    assert (
        f"BROKEN at seal {links[start].seq}: event {edited} is not what was sealed" in result.stderr
    )


def test_a_chain_sealed_again_with_the_key_is_named_by_the_checkpoint(
    audit_target: AuditTarget,
) -> None:
    """Someone with the key and the database removes an event and seals the rest again: the
    chain holds, but not against the checkpoint kept outside the database."""
    ids = audit_target.record(3)
    audit_target.seal()
    point = audit_target.checkpoint()
    assert point is not None
    with audit_target.superuser() as conn:
        conn.execute(text("DELETE FROM event_seal"))
        conn.execute(text("DELETE FROM event WHERE id = :id"), {"id": ids[0]})
    audit_target.record(1)  # the head is back at seal 3, with other events under it
    audit_target.seal()
    with audit_target.sessions() as db:
        assert chain.verify(db, keys=audit_target.keys).intact

    result = stopay_audit_verify()
    assert result.exit_code == 1
    assert f"seal {point.seq} is not the one checkpointed at {point.at}" in result.stderr


def _events(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Event)) or 0


def test_a_direct_insert_is_refused(db: Session) -> None:
    before = _events(db)
    with pytest.raises(DBAPIError, match="written only by the audit service"), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO event (kind, actor_kind, data) VALUES ('case.closed', 'system', '{}')"
            )
        )
    assert _events(db) == before


def test_a_backdated_event_is_refused_even_on_the_services_path(db: Session) -> None:
    before = _events(db)
    allow_audit_writes(db)
    with pytest.raises(DBAPIError, match="refuses an event dated"), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO event (occurred_at, kind, actor_kind, data) "
                "VALUES (now() - interval '2 days', 'case.closed', 'system', '{}')"
            )
        )
    assert _events(db) == before


def test_an_event_into_a_closed_range_is_refused(db: Session) -> None:
    unused = db.scalar(text("SELECT nextval(pg_get_serial_sequence('event', 'id'))"))
    events = [record_event(db, kind="test.closed", data={"n": n}) for n in range(2)]
    db.flush()
    chain.seal(db, keys=KEYS, close_after_s=0)
    record_event(db, kind="test.closing")
    db.flush()
    chain.seal(db, keys=KEYS, close_after_s=0)
    closed = db.scalars(select(EventSeal.closed_upto).order_by(EventSeal.seq.desc())).first()
    assert closed is not None
    assert closed >= events[-1].id > unused
    before = _events(db)
    allow_audit_writes(db)
    with pytest.raises(DBAPIError, match="its range is sealed"), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO event (id, kind, actor_kind, data) "
                "VALUES (:id, 'case.closed', 'system', '{}')"
            ),
            {"id": unused},
        )
    assert _events(db) == before
