"""The fault suite's stack: API, two workers, beat and the simulator as processes, on a
PostgreSQL and a Redis of the suite's own that its tests stop and start.

`make test` runs the suite with short faults; `make faults` (STOPAY_FAULTS_FULL=1) with the
lengths issue 9 names and writes the report into BENCHMARKS.md.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role
from app.db import make_engine, make_sessionmaker, transaction
from app.institutions.service import seed_institutions
from app.migrate import upgrade
from bench.support.report import machine, write_section
from tests.conftest import TEST_SECRET
from tests.e2e.stack import Stack, running_stack
from tests.factories import bearer, make_user
from tests.faults.load import REPORT_HEADER, Reckoning
from tests.faults.servers import PostgresServer, RedisServer

FULL = os.environ.get("STOPAY_FAULTS_FULL") == "1"
BENCHMARKS = Path(__file__).resolve().parents[2] / "BENCHMARKS.md"
HEADING = "## Faults (tests/faults, `make faults`)"


@pytest.fixture(scope="session")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PostgresServer, RedisServer]]:
    home = tmp_path_factory.mktemp("fault-servers")
    postgres, redis = PostgresServer(home), RedisServer(home)
    postgres.start()
    redis.start()
    try:
        upgrade(postgres.url)
        engine = make_engine(postgres.url)
        with transaction(make_sessionmaker(engine)) as db:
            seed_institutions(db, secret_key=TEST_SECRET)
        engine.dispose()
        yield postgres, redis
    finally:
        redis.stop()
        postgres.stop()


@pytest.fixture(scope="session")
def engine(servers: tuple[PostgresServer, RedisServer]) -> Iterator[Engine]:
    engine = make_engine(servers[0].url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture(scope="session")
def stack(
    servers: tuple[PostgresServer, RedisServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    postgres, redis = servers
    settings = {"STOPAY_WORKER_PROCESSES": "1", "STOPAY_WORKER_CONCURRENCY": "32"}
    with running_stack(
        database_url=postgres.url,
        broker_url=redis.url,
        workers=((), ()),
        queue=f"faults-{uuid.uuid4().hex[:8]}",
        settings=settings,
        logs=tmp_path_factory.mktemp("fault-stack"),
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def headers(factory: sessionmaker[Session]) -> dict[str, str]:
    with transaction(factory) as db:
        return bearer(db, make_user(db, role=Role.call_taker))


@pytest.fixture(scope="session")
def reckonings() -> Iterator[list[Reckoning]]:
    """Every fault's report; `make faults` writes them into BENCHMARKS.md."""
    found: list[Reckoning] = []
    yield found
    if FULL and found:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        rows = "\n".join(r.row() for r in found)
        section = (
            f"{HEADING}\n\n{machine()}; {dt.date.today()}, commit {commit}; `make faults`."
            f"\n\n{REPORT_HEADER}\n{rows}\n"
        )
        write_section(BENCHMARKS, section, heading=HEADING)
