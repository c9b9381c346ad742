"""The tamper-evident audit chain: every event sealed with a hash over the one before.

The database already refuses UPDATE and DELETE on `event`; the chain shows it if someone with
the power to lift that (an owner, a restored backup) changed, removed or slipped in a row.
`stopay audit verify` walks the chain and names the first link that does not hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.audit.models import Event, EventSeal
from app.db import insert_rows

GENESIS = "0" * 64
# Events are sealed in batches of at most this many per pass.
BATCH = 5000
# The sealer looks this far below the last sealed id for events committed late.
LATE_WINDOW = 100_000
SEALER_LOCK = 0x5E41  # pg_advisory_xact_lock key: one sealer at a time


def digest(prev_hash: str, event: Event) -> str:
    """The hash of one link: the previous hash and every column of the event."""
    content = json.dumps(
        [event.id, event.occurred_at.astimezone(dt.UTC).isoformat(), event.kind,
         event.actor_kind, event.actor_user_id, event.institution_id, event.case_id,
         event.instruction_id, event.data],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def seal(db: Session, *, batch: int = BATCH) -> int:
    """Seal the events not yet in the chain, oldest id first; returns how many."""
    db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEALER_LOCK})
    last = db.scalars(select(EventSeal).order_by(EventSeal.seq.desc()).limit(1)).first()
    top = db.scalar(select(func.max(EventSeal.event_id))) or 0
    events = db.scalars(
        select(Event)
        .where(
            Event.id > max(0, top - LATE_WINDOW),
            ~select(EventSeal.event_id).where(EventSeal.event_id == Event.id).exists(),
        )
        .order_by(Event.id)
        .limit(batch)
    ).all()
    seq, prev = (last.seq, last.hash) if last is not None else (0, GENESIS)
    rows = []
    for event in events:
        seq += 1
        link = digest(prev, event)
        rows.append({"seq": seq, "event_id": event.id, "prev_hash": prev, "hash": link})
        prev = link
    insert_rows(db, EventSeal, rows)
    return len(rows)


@dataclass(frozen=True)
class Verdict:
    sealed: int
    unsealed: int  # events not in the chain yet (the sealer runs every few seconds)
    broken_at: int | None = None  # the first seal sequence number that does not hold
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(db: Session) -> Verdict:
    """Walk the whole chain in order, recomputing every hash."""
    rows = db.execute(
        select(EventSeal, Event)
        .join(Event, Event.id == EventSeal.event_id, isouter=True)
        .order_by(EventSeal.seq)
        .execution_options(yield_per=2000)
    )
    try:
        return _walk(db, rows)
    finally:
        rows.close()  # a server-side cursor, left open when the walk stops early


def _walk(db: Session, rows: Iterable[tuple[EventSeal, Event | None]]) -> Verdict:
    prev, expected_seq, sealed = GENESIS, 1, 0
    for link, event in rows:
        if link.seq != expected_seq:
            return _broken(db, sealed, expected_seq, f"seal {expected_seq} is missing")
        if link.prev_hash != prev:
            return _broken(db, sealed, link.seq, "it does not follow the seal before it")
        if event is None or digest(prev, event) != link.hash:
            return _broken(db, sealed, link.seq,
                           f"event {link.event_id} is not what was sealed")  # fmt: skip
        prev, expected_seq, sealed = link.hash, expected_seq + 1, sealed + 1
    return Verdict(sealed=sealed, unsealed=_unsealed(db))


def _broken(db: Session, sealed: int, seq: int, reason: str) -> Verdict:
    return Verdict(sealed=sealed, unsealed=_unsealed(db), broken_at=seq, reason=reason)


def _unsealed(db: Session) -> int:
    return (
        db.scalar(
            select(func.count()).where(
                ~select(EventSeal.event_id).where(EventSeal.event_id == Event.id).exists()
            )
        )
        or 0
    )
