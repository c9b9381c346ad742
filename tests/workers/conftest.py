"""A simulator in this process, and the worker's transactions inside the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from simulator.app import create_app as create_simulator
from tests.simulator.servers import ThreadedServer
from workers import dispatch

FAST_PROFILE = Path(__file__).parents[1] / "simulator" / "fast-profile.yaml"


@pytest.fixture
def simulator_url() -> Iterator[str]:
    settings = Settings(secret_key="simulator-secret", _env_file=None)  # type: ignore[call-arg]
    with ThreadedServer(create_simulator(settings=settings, profile=FAST_PROFILE)) as server:
        yield server.url


@pytest.fixture
def in_test_transaction(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The task's transactions, as savepoints of the test's own (rolled back at its end)."""
    factory = sessionmaker(
        bind=db.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    monkeypatch.setattr(dispatch, "task_sessionmaker", lambda: factory)
