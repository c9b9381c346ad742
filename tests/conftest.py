"""Test fixtures: a throw-away database on the real PostgreSQL server, the real Redis.

The database is created and migrated once per session and dropped at the end; each test
runs inside a transaction that is rolled back, so tests never see each other's rows.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app import logs
from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.deps import get_db, one_hop_writer
from app.institutions.service import seed_institutions
from app.main import create_app
from app.migrate import upgrade

ADMIN_URL = os.environ.get(
    "STOPAY_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BROKER_URL = os.environ.get("STOPAY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
TEST_SECRET = "test-secret-key-not-the-default"
# What a test or a process it starts writes under the data directory (the audit chain's
# checkpoints, say) goes here, not into the checkout's .data, where `make run` keeps the demo's.
if "STOPAY_DATA_DIR" not in os.environ:
    os.environ["STOPAY_DATA_DIR"] = tempfile.mkdtemp(prefix="stopay-tests-")
    atexit.register(shutil.rmtree, os.environ["STOPAY_DATA_DIR"], ignore_errors=True)
TEST_AUDIT_KEY = "test-audit-key-not-in-the-database"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(prefix: str = "stopay_test") -> str:
    """Create an empty database on the test server; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_database() -> Iterator[str]:
    """A throw-away database, migrated and with the institution registry; dropped afterwards."""
    url = create_database()
    try:
        upgrade(url)
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as db:
            seed_institutions(db, secret_key=TEST_SECRET)
        engine.dispose()
        yield url
    finally:
        drop_database(url)


@pytest.fixture(autouse=True)
def _no_log_context() -> Iterator[None]:
    """A service names the case its lines are about for the rest of its context: a request's
    or a task's, in the service; here, the test's thread. Each test starts with none."""
    logs.clear()
    yield
    logs.clear()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database() as url:
        yield url


def service_settings(database_url: str, broker_url: str = BROKER_URL) -> Settings:
    """The service's settings for tests: this database and broker, test secrets, English."""
    return Settings(
        database_url=database_url,
        broker_url=broker_url,
        demo=False,
        secret_key=TEST_SECRET,
        audit_key=TEST_AUDIT_KEY,
        default_language="en",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return service_settings(database_url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def app(settings: Settings, db: Session) -> Iterator[FastAPI]:
    app = create_app(settings)

    def _test_db() -> Iterator[Session]:
        # The request's transaction is a savepoint inside the test's transaction.
        with db.begin_nested():
            yield db

    class _TestWriter:
        async def run(self, work: Callable[[Session], Any]) -> Any:
            with db.begin_nested():
                return work(db)

    app.dependency_overrides[get_db] = _test_db
    app.dependency_overrides[one_hop_writer] = _TestWriter
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def fresh_sessionmaker(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Committing sessions for tests about real transactions; not rolled back for them."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()
