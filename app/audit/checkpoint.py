"""The chain's head, checkpointed outside the database: an append-only file of signed lines.

Beat appends the head every `audit_checkpoint_interval_s`, and a worker does when it stops.
Each line is JSON: the time, the last seal's number, its event id, hash and key id, and an
HMAC over those under the key. `stopay audit verify` holds the database against the latest
line: a cut tail (the seal is gone) or a chain sealed again (the hash differs) shows.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.keys import Keyring
from app.audit.models import EventSeal

# The last line is within this many bytes of the end of the file.
TAIL_BYTES = 16 * 1024
# A chain with no checkpoint is named once its first seal is this much older than an interval.
OVERDUE_GRACE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Checkpoint:
    at: str
    seq: int
    event_id: int
    hash: str
    key_id: str

    def body(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    def line(self, keys: Keyring) -> str:
        mac = keys.sign(self.body(), key_id=self.key_id)
        return json.dumps({**asdict(self), "mac": mac}, separators=(",", ":")) + "\n"


class UnreadableCheckpoint(ValueError):
    pass


def write_checkpoint(db: Session, *, keys: Keyring, path: Path) -> Checkpoint | None:
    """Append the chain's head to the file, unless it is the head the last line has already."""
    head = db.scalars(select(EventSeal).order_by(EventSeal.seq.desc()).limit(1)).first()
    if head is None:
        return None
    point = Checkpoint(
        at=dt.datetime.now(dt.UTC).isoformat(),
        seq=head.seq,
        event_id=head.event_id,
        hash=head.hash,
        key_id=keys.current_id,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as file:
        fcntl.flock(file, fcntl.LOCK_EX)  # beat's task and a stopping worker can meet here
        try:
            last = _last_line(path)
            if last is not None and _same_head(last, point):
                return None
            file.write(point.line(keys))
            file.flush()
            os.fsync(file.fileno())
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)
    return point


def _same_head(line: str, point: Checkpoint) -> bool:
    try:
        last = json.loads(line)
    except ValueError:
        return False
    return isinstance(last, dict) and (last.get("seq"), last.get("hash")) == (
        point.seq,
        point.hash,
    )


def _last_line(path: Path) -> str | None:
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        file.seek(max(0, size - TAIL_BYTES))
        lines = file.read().decode("utf-8", errors="replace").splitlines()
    lines = [line for line in lines if line.strip()]
    return lines[-1] if lines else None


def latest_checkpoint(path: Path, *, keys: Keyring) -> Checkpoint | None:
    """The file's last line, checked; None when there is no file or no line yet."""
    if not path.exists():
        return None
    line = _last_line(path)
    if line is None:
        return None
    try:
        fields = json.loads(line)
        mac = fields.pop("mac")
        point = Checkpoint(**fields)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UnreadableCheckpoint(f"the last line of {path} is not a checkpoint") from exc
    if point.key_id not in keys.keys:
        raise UnreadableCheckpoint(
            f"the last checkpoint in {path} is signed with key {point.key_id!r}, "
            "which is not configured"
        )
    if not keys.holds(point.body(), str(mac), key_id=point.key_id):
        raise UnreadableCheckpoint(f"the last checkpoint in {path} is not correctly signed")
    return point


def against_checkpoint(
    db: Session, path: Path, *, keys: Keyring, interval_s: float = 60.0
) -> list[str]:
    """What does not match between the database's chain and the latest checkpoint."""
    try:
        point = latest_checkpoint(path, keys=keys)
    except UnreadableCheckpoint as exc:
        return [str(exc)]
    if point is None:
        return _overdue(db, path, interval_s=interval_s)
    found = db.get(EventSeal, point.seq)
    if found is None:
        top = db.scalars(select(EventSeal.seq).order_by(EventSeal.seq.desc()).limit(1)).first()
        return [
            f"seal {point.seq} (event {point.event_id}), checkpointed at {point.at}, is "
            f"missing: the chain was cut back to seal {top or 0}"
        ]
    if point.key_id not in (keys.current_id, found.key_id):
        return [
            f"the last checkpoint in {path} is signed with key {point.key_id!r}, which neither"
            f" sealed seal {point.seq} nor is the current key"
        ]
    if (found.event_id, found.hash) != (point.event_id, point.hash):
        return [
            f"seal {point.seq} is not the one checkpointed at {point.at}: the chain was "
            "sealed again"
        ]
    return []


def _overdue(db: Session, path: Path, *, interval_s: float) -> list[str]:
    """No checkpoint at all: fine on a fresh install, not once the first seal is older than
    a checkpoint interval (and a minute's grace)."""
    first = db.scalars(select(EventSeal.sealed_at).order_by(EventSeal.seq).limit(1)).first()
    late = dt.timedelta(seconds=interval_s) + OVERDUE_GRACE
    if first is None or first > dt.datetime.now(dt.UTC) - late:
        return []
    return [
        f"there is no checkpoint in {path}, though seal 1 was made at "
        f"{first.astimezone(dt.UTC).isoformat()}: the file was removed or never written"
    ]
