"""A database of its own for attacks on the audit trail: the attacker commits, as a superuser
would, and `stopay audit verify` (the real command, in this process) has to name it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.audit import chain
from app.audit.checkpoint import Checkpoint, write_checkpoint
from app.audit.keys import Keyring
from app.audit.service import record_event
from app.cli import cli
from app.config import get_settings
from app.db import make_engine, make_sessionmaker, transaction
from tests.audit.keyring import AUDIT_KEY, AUDIT_KEY_ID, KEYS
from tests.conftest import TEST_SECRET, migrated_database


@dataclass
class AuditTarget:
    engine: Engine
    sessions: sessionmaker[Session]
    checkpoints: Path
    keys: Keyring = KEYS

    def record(self, count: int, *, kind: str = "test.hostile") -> list[int]:
        """Events written through the audit service, committed; returns their ids."""
        with transaction(self.sessions) as db:
            events = [record_event(db, kind=kind, data={"n": n}) for n in range(count)]
            db.flush()
            return [e.id for e in events]

    def seal(self) -> None:
        with transaction(self.sessions) as db:
            while chain.seal(db, keys=self.keys, close_after_s=0):
                pass

    def checkpoint(self) -> Checkpoint | None:
        with transaction(self.sessions) as db:
            return write_checkpoint(db, keys=self.keys, path=self.checkpoints)

    @contextmanager
    def superuser(self) -> Iterator[Connection]:
        """The attacker: a superuser session with the triggers off, committed at the end."""
        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn


@pytest.fixture
def audit_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AuditTarget]:
    with migrated_database() as url:
        checkpoints = tmp_path / "audit-checkpoints.log"
        for name, value in {
            "DATABASE_URL": url,
            "STOPAY_SECRET_KEY": TEST_SECRET,
            "STOPAY_DEMO": "false",
            "STOPAY_AUDIT_KEY": AUDIT_KEY,
            "STOPAY_AUDIT_KEY_ID": AUDIT_KEY_ID,
            "STOPAY_AUDIT_CHECKPOINT_FILE": str(checkpoints),
            "STOPAY_AUDIT_CLOSE_AFTER_S": "60",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        engine = make_engine(url)
        try:
            yield AuditTarget(engine, make_sessionmaker(engine), checkpoints)
        finally:
            engine.dispose()
            get_settings.cache_clear()


def stopay_audit_verify() -> Result:
    """`stopay audit verify`, which seals what waits first, as an operator runs it."""
    return CliRunner().invoke(cli, ["audit", "verify"], catch_exceptions=False)
