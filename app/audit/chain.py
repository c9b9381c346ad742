"""The tamper-evident audit chain: every event sealed with an HMAC over the seal before it.

The database refuses UPDATE and DELETE on `event` and `event_seal`, and inserts that do not
come from the audit service; the chain shows it if someone with the power to lift that (a
superuser, a restored backup) changed, removed or slipped in a row. The seals are keyed
(app/audit/keys.py), so a changed chain cannot be sealed again without the key, and the head
is checkpointed outside the database (app/audit/checkpoint.py), so a cut tail shows too.

Event ids come from a sequence, and a rolled-back transaction leaves a hole. Each seal records
`closed_upto`: every id up to it is sealed or was rolled back (still missing
`audit_close_after_s` after a higher id was sealed). The sealer never seals an event in a
closed range, and `stopay audit verify` names one that turns up there.

An event is stamped when its row is inserted, right after its id is drawn, so ids and times
rise together. The sealer refuses an event dated more than `SLACK` before the sealed event
under its id (a backdated row slipped into an id not yet closed), leaves it out of the chain,
and verify names it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Row, ScalarSelect, SQLColumnExpression, func, select, text
from sqlalchemy.orm import Session, aliased

from app.audit.checkpoint import against_checkpoint
from app.audit.keys import Keyring
from app.audit.models import Event, EventSeal
from app.db import insert_rows

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# Events are sealed in batches of at most this many per pass.
BATCH = 5000
# The sealer looks this far below the last sealed id for events committed late.
LATE_WINDOW = 100_000
SEALER_LOCK = 0x5E41  # pg_advisory_xact_lock key: one sealer at a time
# How far an event may be dated before the sealed event under its id (a busy machine can stall
# a session between drawing an id and stamping the row).
SLACK = dt.timedelta(seconds=60)


def content(event: Event) -> str:
    """Every column of the event, in a canonical form."""
    return json.dumps(
        [
            event.id,
            event.occurred_at.astimezone(dt.UTC).isoformat(),
            event.kind,
            event.actor_kind,
            event.actor_user_id,
            event.institution_id,
            event.case_id,
            event.instruction_id,
            event.data,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def digest(
    keys: Keyring, *, key_id: str, seq: int, closed_upto: int, prev_hash: str, event: Event
) -> str:
    """The hash of one link: keyed, over its place, the closed range, the link before it and
    the event."""
    message = f"{seq}\n{closed_upto}\n{prev_hash}\n{content(event)}"
    return keys.sign(message.encode(), key_id=key_id)


def seal(db: Session, *, keys: Keyring, close_after_s: float, batch: int = BATCH) -> int:
    """Seal the events not yet in the chain, oldest id first; returns how many."""
    db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEALER_LOCK})
    last = db.scalars(select(EventSeal).order_by(EventSeal.seq.desc()).limit(1)).first()
    seq, prev, closed = (last.seq, last.hash, last.closed_upto) if last else (0, GENESIS, 0)
    top = db.scalar(select(func.max(EventSeal.event_id))) or 0
    found = db.execute(
        select(Event, _floor(Event.id))
        .where(
            Event.id > max(closed, top - LATE_WINDOW),
            ~select(EventSeal.event_id).where(EventSeal.event_id == Event.id).exists(),
        )
        .order_by(Event.id)
        .limit(batch)
    ).all()
    events = _in_time(found)
    if not events:
        return 0
    # Closed below every event of this pass: a seal's event is always above its closed_upto.
    closed = max(
        closed, min(_closable(db, above=closed, close_after_s=close_after_s), events[0].id - 1)
    )
    rows = []
    for event in events:
        seq += 1
        link = digest(
            keys, key_id=keys.current_id, seq=seq, closed_upto=closed, prev_hash=prev, event=event
        )
        rows.append(
            {
                "seq": seq,
                "event_id": event.id,
                "prev_hash": prev,
                "hash": link,
                "key_id": keys.current_id,
                "closed_upto": closed,
            }
        )
        prev = link
    insert_rows(db, EventSeal, rows)
    return len(rows)


def _floor(event_id: SQLColumnExpression[int]) -> ScalarSelect[dt.datetime]:
    """When the sealed event just under this id happened."""
    under = aliased(Event)
    return (
        select(under.occurred_at)
        .join(EventSeal, EventSeal.event_id == under.id)
        .where(EventSeal.event_id < event_id)
        .order_by(EventSeal.event_id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _in_time(rows: Iterable[Row[Event, dt.datetime]]) -> list[Event]:
    """The events not dated before the ones under them (by more than SLACK), in id order."""
    events: list[Event] = []
    latest: dt.datetime | None = None
    for event, floor in rows:
        latest = max(t for t in (latest, floor) if t is not None) if latest or floor else None
        if latest is None or event.occurred_at >= latest - SLACK:
            events.append(event)
            latest = max(latest or event.occurred_at, event.occurred_at)
        else:
            log.error(
                "audit: event %d is backdated (%s); it is not sealed",
                event.id,
                event.occurred_at.isoformat(),
            )
    return events


def _closable(db: Session, *, above: int, close_after_s: float) -> int:
    """The highest id sealed at least close_after_s ago: a lower id still missing belongs to
    a transaction open that long, taken as rolled back (ids are handed out in order)."""
    cut = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, close_after_s)
    return (
        db.scalar(
            select(func.max(EventSeal.event_id)).where(
                EventSeal.event_id > above, EventSeal.sealed_at <= cut
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Verdict:
    sealed: int
    unsealed: int  # events not in the chain yet (the sealer runs every few seconds)
    broken_at: int | None = None  # the first seal sequence number that does not hold
    reason: str | None = None
    # Tampering found beyond the chain's links: events in a closed range, the checkpoint.
    findings: tuple[str, ...] = ()
    # Ids never written up to closed_upto, as ranges: rolled-back transactions.
    holes: tuple[tuple[int, int], ...] = ()
    closed_upto: int = 0
    head: EventSeal | None = field(default=None, repr=False)

    @property
    def intact(self) -> bool:
        return self.broken_at is None and not self.findings


@dataclass
class _Walk:
    sealed: int = 0
    closed: int = 0
    head: EventSeal | None = None
    broken_at: int | None = None
    reason: str | None = None
    # Keys a later key took over from: one of them on a later seal is a forgery with a
    # retired (perhaps leaked) key.
    retired: set[str] = field(default_factory=set)

    def step(self, link: EventSeal) -> None:
        if self.head is not None and self.head.key_id != link.key_id:
            self.retired.add(self.head.key_id)
        self.sealed, self.closed, self.head = self.sealed + 1, link.closed_upto, link


def verify(
    db: Session,
    *,
    keys: Keyring,
    checkpoints: Path | None = None,
    checkpoint_interval_s: float = 60.0,
) -> Verdict:
    """Walk the whole chain in order, recomputing every seal; then look for events slipped
    into a closed range, and hold the chain against the latest checkpoint if there is one."""
    rows = db.execute(
        select(EventSeal, Event)
        .join(Event, Event.id == EventSeal.event_id, isouter=True)
        .order_by(EventSeal.seq)
        .execution_options(yield_per=2000)
    )
    walk = _Walk()
    try:
        for link, event in rows:
            fault = _link_fault(keys, walk, link, event)
            if fault is not None:
                walk.broken_at, walk.reason = fault
                break
            walk.step(link)
    finally:
        rows.close()  # a server-side cursor, left open when the walk stops early
    findings = _intruders(db, closed=walk.closed) + _backdated(db)
    if checkpoints is not None:
        findings += against_checkpoint(db, checkpoints, keys=keys, interval_s=checkpoint_interval_s)
    return Verdict(
        sealed=walk.sealed,
        unsealed=_unsealed(db),
        broken_at=walk.broken_at,
        reason=walk.reason,
        findings=tuple(findings),
        closed_upto=walk.closed,
        holes=_holes(db, closed=walk.closed),
        head=walk.head,
    )


def _link_fault(
    keys: Keyring, walk: _Walk, link: EventSeal, event: Event | None
) -> tuple[int, str] | None:
    """Where and why this link does not hold, if it does not."""
    expected = walk.sealed + 1
    if link.seq != expected:
        return expected, f"seal {expected} is missing"
    reason = _link_reason(keys, walk, link, event)
    return None if reason is None else (link.seq, reason)


def _link_reason(keys: Keyring, walk: _Walk, link: EventSeal, event: Event | None) -> str | None:
    prev = walk.head.hash if walk.head is not None else GENESIS
    if link.prev_hash != prev:
        return "it does not follow the seal before it"
    if link.key_id not in keys.keys:
        return f"it is sealed with key {link.key_id!r}, which is not configured"
    if link.key_id in walk.retired:
        return f"it is sealed with key {link.key_id!r}, retired before it by a later key"
    if event is None:
        return f"event {link.event_id} is missing"
    made = digest(
        keys,
        key_id=link.key_id,
        seq=link.seq,
        closed_upto=link.closed_upto,
        prev_hash=prev,
        event=event,
    )
    if made != link.hash:
        return f"event {link.event_id} is not what was sealed"
    if link.event_id <= link.closed_upto or link.closed_upto < walk.closed:
        return f"event {link.event_id} was sealed in a range closed before it"
    return None


def _intruders(db: Session, *, closed: int) -> list[str]:
    """Events in the closed range that are not sealed: written there after it was closed."""
    ids = db.scalars(
        select(Event.id)
        .where(
            Event.id <= closed,
            ~select(EventSeal.event_id).where(EventSeal.event_id == Event.id).exists(),
        )
        .order_by(Event.id)
        .limit(20)
    ).all()
    return [
        f"event {i} is in the closed range (ids up to {closed}) but not sealed: it was "
        "written there after the range was closed"
        for i in ids
    ]


def _backdated(db: Session) -> list[str]:
    """Events left out of the chain because they are dated before the sealed event under
    their id: written later, with a time in the past."""
    floor = _floor(Event.id)
    rows = db.execute(
        select(Event.id, Event.occurred_at, floor)
        .where(
            ~select(EventSeal.event_id).where(EventSeal.event_id == Event.id).exists(),
            Event.occurred_at < floor - SLACK,
        )
        .order_by(Event.id)
        .limit(20)
    ).all()
    return [
        f"event {i} is dated {at.astimezone(dt.UTC).isoformat()}, before the event sealed under"
        f" its id ({under.astimezone(dt.UTC).isoformat()}): it was written later, backdated,"
        " and is not sealed"
        for i, at, under in rows
    ]


def _holes(db: Session, *, closed: int, limit: int = 20) -> tuple[tuple[int, int], ...]:
    """Ids up to `closed` that no event has (the first `limit` ranges)."""
    rows = db.execute(
        text(
            "SELECT prev + 1, id - 1 FROM (SELECT id, lag(id, 1, 0::bigint) OVER (ORDER BY id)"
            " AS prev FROM event WHERE id <= :closed) AS ids WHERE id > prev + 1"
            " UNION ALL SELECT coalesce(max(id), 0) + 1, :closed FROM event WHERE id <= :closed"
            " HAVING coalesce(max(id), 0) < :closed ORDER BY 1 LIMIT :limit"
        ),
        {"closed": closed, "limit": limit},
    ).all()
    return tuple((int(a), int(b)) for a, b in rows)


def _unsealed(db: Session) -> int:
    return (
        db.scalar(
            select(func.count()).where(
                ~select(EventSeal.event_id).where(EventSeal.event_id == Event.id).exists()
            )
        )
        or 0
    )
