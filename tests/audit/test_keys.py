"""The seal key: from settings, never the database; rotated by id, old seals still verify."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import chain
from app.audit.checkpoint import UnreadableCheckpoint, latest_checkpoint, write_checkpoint
from app.audit.keys import DERIVED_KEY_ID, Keyring
from app.audit.models import EventSeal
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
