"""The seal key: from settings, never the database; rotated by id, old seals still verify."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit import chain
from app.audit.checkpoint import (
    Checkpoint,
    UnreadableCheckpoint,
    latest_checkpoint,
    write_checkpoint,
)
from app.audit.keys import DERIVED_KEY_ID, Keyring
from app.audit.models import Event, EventSeal
from app.audit.service import record_event
from app.cli import cli
from app.config import Settings, get_settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _record_and_seal(db: Session, keys: Keyring, count: int) -> None:
    for n in range(count):
        record_event(db, kind="test.rotation", data={"n": n})
    db.flush()
    while chain.seal(db, keys=keys, close_after_s=0):
        pass


def test_after_a_rotation_old_seals_verify_under_the_previous_key(
    own_db: Session, tmp_path: Path
) -> None:
    db = own_db
    old = Keyring.from_settings(_settings(audit_key="old-key", audit_key_id="2026-11"))
    _record_and_seal(db, old, 2)
    checkpoints = tmp_path / "checkpoints.log"
    assert write_checkpoint(db, keys=old, path=checkpoints) is not None
    rotated = Keyring.from_settings(
        _settings(
            audit_key="new-key", audit_key_id="2026-12", audit_previous_keys={"2026-11": "old-key"}
        )
    )
    _record_and_seal(db, rotated, 2)
    key_ids = list(db.scalars(select(EventSeal.key_id).order_by(EventSeal.seq)))
    assert key_ids[-4:] == ["2026-11", "2026-11", "2026-12", "2026-12"]
    verdict = chain.verify(db, keys=rotated, checkpoints=checkpoints)
    assert verdict.intact, (verdict.reason, verdict.findings)

    forgotten = Keyring.from_settings(_settings(audit_key="new-key", audit_key_id="2026-12"))
    broken = chain.verify(db, keys=forgotten)
    assert broken.reason == "it is sealed with key '2026-11', which is not configured"
    with pytest.raises(UnreadableCheckpoint, match="'2026-11', which is not configured"):
        latest_checkpoint(checkpoints, keys=forgotten)


def test_a_wrong_key_does_not_verify(db: Session) -> None:
    _record_and_seal(db, Keyring.from_settings(_settings(audit_key="right", audit_key_id="k")), 1)
    wrong = Keyring.from_settings(_settings(audit_key="wrong", audit_key_id="k"))
    assert chain.verify(db, keys=wrong).reason is not None


def test_the_key_comes_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOPAY_AUDIT_PREVIOUS_KEYS", '{"1": "first"}')
    key_file = tmp_path / "audit.key"
    key_file.write_text("second\n", encoding="utf-8")
    keys = Keyring.from_settings(_settings(audit_key_file=key_file, audit_key_id="2"))
    assert keys.current_id == "2"
    assert dict(keys.keys) == {"1": b"first", "2": b"second"}


def test_outside_demo_mode_an_audit_key_must_be_set() -> None:
    unset = _settings(demo=False, secret_key="a-real-secret")
    with pytest.raises(RuntimeError, match="STOPAY_AUDIT_KEY"):
        unset.check_secrets()
    with pytest.raises(RuntimeError, match="STOPAY_AUDIT_KEY"):
        Keyring.from_settings(unset)
    demo = Keyring.from_settings(_settings(demo=True))
    assert demo.current_id == DERIVED_KEY_ID


def test_verify_without_a_key_outside_demo_mode_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "STOPAY_DEMO": "false",
        "STOPAY_SECRET_KEY": "a-real-secret",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("STOPAY_AUDIT_KEY", "STOPAY_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "no audit key: set STOPAY_AUDIT_KEY" in result.output


OLD = {"audit_key": "old-key", "audit_key_id": "2026-11"}
NEW = {"audit_key": "new-key", "audit_key_id": "2026-12"}


def _rotated(db: Session) -> tuple[Keyring, Keyring]:
    """A chain sealed under the old key, then under the new one; (old, rotated) keyrings."""
    old = Keyring.from_settings(_settings(**OLD))
    _record_and_seal(db, old, 2)
    rotated = Keyring.from_settings(
        _settings(**NEW, audit_previous_keys={OLD["audit_key_id"]: OLD["audit_key"]})
    )
    _record_and_seal(db, rotated, 2)
    assert chain.verify(db, keys=rotated).intact
    return old, rotated


def _as_attacker(db: Session) -> None:
    db.execute(text("SET LOCAL session_replication_role = replica"))


def test_a_seal_forged_with_a_retired_key_after_the_new_one_is_named(own_db: Session) -> None:
    """Someone with the database and a leaked old key appends an event and seals it."""
    db = own_db
    old, rotated = _rotated(db)
    head = db.scalars(select(EventSeal).order_by(EventSeal.seq.desc()).limit(1)).one()
    _as_attacker(db)
    forged = Event(kind="case.closed", actor_kind="system", data={})
    db.add(forged)
    db.flush()
    seq = head.seq + 1
    link = chain.digest(
        old,
        key_id=OLD["audit_key_id"],
        seq=seq,
        closed_upto=head.closed_upto,
        prev_hash=head.hash,
        event=forged,
    )
    db.add(
        EventSeal(
            seq=seq,
            event_id=forged.id,
            prev_hash=head.hash,
            hash=link,
            key_id=OLD["audit_key_id"],
            closed_upto=head.closed_upto,
        )
    )
    db.flush()

    verdict = chain.verify(db, keys=rotated)
    assert verdict.broken_at == seq
    assert verdict.reason == "it is sealed with key '2026-11', retired before it by a later key"


def test_a_checkpoint_forged_with_a_retired_key_is_named(own_db: Session, tmp_path: Path) -> None:
    db = own_db
    old, rotated = _rotated(db)
    checkpoints = tmp_path / "checkpoints.log"
    assert write_checkpoint(db, keys=rotated, path=checkpoints) is not None
    head = db.scalars(select(EventSeal).order_by(EventSeal.seq.desc()).limit(1)).one()
    forged = Checkpoint(
        at="2026-12-04T23:00:00+00:00",
        seq=head.seq,
        event_id=head.event_id,
        hash=head.hash,
        key_id=OLD["audit_key_id"],
    )
    with checkpoints.open("a", encoding="utf-8") as file:
        file.write(forged.line(old))

    verdict = chain.verify(db, keys=rotated, checkpoints=checkpoints)
    assert verdict.findings == (
        f"the last checkpoint in {checkpoints} is signed with key '2026-11', which neither "
        f"sealed seal {head.seq} nor is the current key",
    )


def test_a_missing_checkpoint_file_is_named_once_seals_are_older_than_an_interval(
    own_db: Session, tmp_path: Path
) -> None:
    db = own_db
    keys = Keyring.from_settings(_settings(**NEW))
    _record_and_seal(db, keys, 2)
    checkpoints = tmp_path / "removed.log"
    fresh = chain.verify(db, keys=keys, checkpoints=checkpoints, checkpoint_interval_s=60)
    assert fresh.intact  # a fresh install: no checkpoint written yet
    _as_attacker(db)  # only to age the seals, as if three minutes had passed
    db.execute(text("UPDATE event_seal SET sealed_at = sealed_at - interval '3 minutes'"))

    verdict = chain.verify(db, keys=keys, checkpoints=checkpoints, checkpoint_interval_s=60)
    assert not verdict.intact
    [finding] = verdict.findings
    assert finding.startswith(f"there is no checkpoint in {checkpoints}, though seal 1 was made")
