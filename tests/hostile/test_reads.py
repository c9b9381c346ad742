"""A read that meets a serialization failure is run again, not answered 503: provoked for
real, with a concurrent commit between the read's snapshot and its statement."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.deps import DbSession
from app.errors import install_error_handlers
from app.middleware import RetryReads


@pytest.fixture
def counter(fresh_sessionmaker: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    with fresh_sessionmaker() as db, db.begin():
        db.execute(text("CREATE TABLE hostile_reads (id int PRIMARY KEY, n int NOT NULL)"))
        db.execute(text("INSERT INTO hostile_reads VALUES (1, 0)"))
    yield fresh_sessionmaker
    with fresh_sessionmaker() as db, db.begin():
        db.execute(text("DROP TABLE hostile_reads"))


def contended_app(
    settings: Settings, sessions: sessionmaker[Session], *, retries: int
) -> tuple[FastAPI, list[int]]:
    """A GET whose first run has another transaction commit to the row it reads, between
    its snapshot and its own statement on that row: a serialization failure."""
    app = FastAPI()
    app.state.settings = settings
    app.state.sessionmaker = sessions
    app.state.publisher = None
    install_error_handlers(app)
    app.add_middleware(RetryReads, retries=retries)
    runs: list[int] = []

    @app.get("/contended")
    def contended(db: DbSession) -> dict[str, int]:
        runs.append(1)
        db.execute(text("SELECT n FROM hostile_reads WHERE id = 1"))  # the snapshot
        if len(runs) == 1:
            with sessions() as other, other.begin():
                other.execute(text("UPDATE hostile_reads SET n = n + 1 WHERE id = 1"))
        db.execute(text("SELECT n FROM hostile_reads WHERE id = 1 FOR UPDATE"))
        return {"runs": len(runs)}

    return app, runs


def test_a_read_meeting_a_serialization_failure_is_run_again(
    settings: Settings, counter: sessionmaker[Session]
) -> None:
    app, runs = contended_app(settings, counter, retries=3)
    with TestClient(app) as client:
        answer = client.get("/contended")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"runs": 2}


def test_without_retries_the_same_read_is_the_503_it_was(
    settings: Settings, counter: sessionmaker[Session]
) -> None:
    # The failure is real: with no retry it is answered as a database failure.
    app, runs = contended_app(settings, counter, retries=0)
    with TestClient(app) as client:
        answer = client.get("/contended")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert len(runs) == 1
