"""One running stack for all end-to-end tests (starting it per test would triple the run)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit
from app.db import transaction
from app.institutions.models import Institution
from tests.conftest import migrated_database
from tests.e2e.stack import Stack, running_stack
from tests.factories import bearer, make_user

# Every end-to-end test runs on Redis, the broker of record; those marked `every_broker` (where
# the broker's own behaviour matters: delivery, priority, a lost message, a dead worker,
# lanes) run on RabbitMQ too (issue 9: both work). The rest only pass messages through it.
# STOPAY_TEST_E2E_BROKERS=redis (or rabbitmq) keeps a local run to one.
BROKERS = {
    "redis": "redis://127.0.0.1:6379/12",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}
E2E_BROKERS = os.environ.get("STOPAY_TEST_E2E_BROKERS", ",".join(BROKERS)).split(",")
# A queue of this run's own: two test runs on one machine must not take each other's tasks.
E2E_QUEUE = f"e2e-{uuid.uuid4().hex[:12]}"

pytestmark = pytest.mark.slow


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Only the `every_broker` tests on brokers other than Redis (see BROKERS)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_other = callspec is not None and callspec.params.get("broker", "redis") != "redis"
        if on_other and item.get_closest_marker("every_broker") is None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=E2E_BROKERS)
def broker(request: pytest.FixtureRequest) -> str:
    """The name of the broker this run of the end-to-end tests uses."""
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(broker: str) -> Iterator[str]:  # noqa: ARG001 - one per broker param
    """A database of each broker's run: the scenarios use fixed accounts, and an account
    one case holds is not stopped again by the next."""
    with migrated_database() as url:
        yield url


@pytest.fixture(scope="session")
def stack(
    broker: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    settings = {
        "STOPAY_WORKER_CONCURRENCY": "32",
        # Scenario 8: the tests drive the legal clock, and beat looks at it every second.
        "STOPAY_SETTABLE_CLOCK": "true",
        "STOPAY_LEGAL_CLOCK_INTERVAL_S": "1",
    }
    with running_stack(
        database_url=database_url,
        broker_url=BROKERS[broker],
        queue=E2E_QUEUE,
        logs=tmp_path_factory.mktemp(f"stack-{broker}"),
        settings=settings,
    ) as stack:
        yield stack


@pytest.fixture
def headers(fresh_sessionmaker: sessionmaker[Session]) -> dict[str, str]:
    """A call-taker of a unit of their own, with a token (committed: other processes read it)."""
    with transaction(fresh_sessionmaker) as db:
        return bearer(db, make_user(db, role=Role.call_taker))


@pytest.fixture
def staff(fresh_sessionmaker: sessionmaker[Session]) -> dict[Role, dict[str, str]]:
    """A call-taker, a supervisor and an admin of one unit of their own, with tokens."""
    with transaction(fresh_sessionmaker) as db:
        taker = make_user(db, role=Role.call_taker)
        unit = db.get_one(Unit, taker.unit_id)
        return {
            Role.call_taker: bearer(db, taker),
            Role.supervisor: bearer(db, make_user(db, role=Role.supervisor, unit=unit)),
            Role.admin: bearer(db, make_user(db, role=Role.admin, unit=unit)),
        }


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
