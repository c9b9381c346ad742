"""One running stack for all end-to-end tests (starting it per test would triple the run)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role
from app.db import transaction
from app.institutions.models import Institution
from tests.conftest import TEST_SECRET
from tests.e2e.stack import PROFILE, Stack, free_port, wait_http_ok
from tests.factories import bearer, make_user

E2E_BROKER = os.environ.get("STOPAY_TEST_E2E_BROKER_URL", "redis://127.0.0.1:6379/12")
# A queue of this run's own: two test runs on one machine must not take each other's tasks.
E2E_QUEUE = f"e2e-{uuid.uuid4().hex[:12]}"

pytestmark = pytest.mark.slow


def _drop_queue(url: str) -> None:
    if url.startswith("redis"):
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{E2E_QUEUE}*"):
            client.delete(key)


@pytest.fixture(scope="session")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("stack")
    api_port, sim_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STOPAY_")},
        "DATABASE_URL": database_url,
        "BROKER_URL": E2E_BROKER,
        "STOPAY_SECRET_KEY": TEST_SECRET,
        "STOPAY_DEMO": "false",
        "STOPAY_DATA_DIR": str(logs),
        "STOPAY_API_PORT": str(api_port),
        "STOPAY_SIMULATOR_PORT": str(sim_port),
        "STOPAY_SIMULATOR_PROFILE": str(PROFILE),
        "STOPAY_WORKER_CONCURRENCY": "32",
        "STOPAY_QUEUE": E2E_QUEUE,
    }
    stack = Stack(
        env=env,
        logs=logs,
        api_url=f"http://127.0.0.1:{api_port}",
        simulator_url=f"http://127.0.0.1:{sim_port}",
    )
    try:
        stack.start("simulator", "simulator")
        stack.start("api", "api")
        stack.start("worker", "worker")
        stack.start("beat", "beat")
        wait_http_ok(f"{stack.simulator_url}/healthz")
        wait_http_ok(f"{stack.api_url}/readyz")
        yield stack
    finally:
        stack.stop_all()
        _drop_queue(E2E_BROKER)


@pytest.fixture
def headers(fresh_sessionmaker: sessionmaker[Session]) -> dict[str, str]:
    """A call-taker of a unit of their own, with a token (committed: other processes read it)."""
    with transaction(fresh_sessionmaker) as db:
        return bearer(db, make_user(db, role=Role.call_taker))


@pytest.fixture
def fresh_simulator(stack: Stack) -> Stack:
    """The stack with the simulator's ledger, outages and scenarios reset for this test."""
    with stack.simulator() as sim:
        assert sim.post("/admin/reset").status_code == 200
    return stack


@pytest.fixture
def tune(fresh_sessionmaker: sessionmaker[Session]) -> Iterator[Callable[..., None]]:
    """Change an institution's SLA or adapter settings for one test; restored afterwards."""
    saved: dict[str, tuple[int, dict[str, Any]]] = {}

    def apply(code: str, *, sla_s: int | None = None, **adapter: Any) -> None:
        with transaction(fresh_sessionmaker) as db:
            row = db.execute(select(Institution).where(Institution.code == code)).scalar_one()
            saved.setdefault(code, (row.sla_s, dict(row.adapter)))
            row.sla_s = sla_s or row.sla_s
            row.adapter = {**row.adapter, **adapter}

    yield apply
    with transaction(fresh_sessionmaker) as db:
        for code, (sla_s, adapter) in saved.items():
            row = db.execute(select(Institution).where(Institution.code == code)).scalar_one()
            row.sla_s, row.adapter = sla_s, adapter
