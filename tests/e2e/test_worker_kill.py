"""Two workers share a fan-out; one is killed with SIGKILL in the middle of it. And two
workers on two lanes (banks, payment institutions), one of them dead for a while.

The stack of this module is its own (the shared one must keep its worker): API, two workers
started as separate process groups, beat and the simulator, on each broker. Nothing the dead
worker held is lost: what it had sent the institution completes by the institution's
callback, what it had claimed but not sent is sent again by the relay once its lease and
STOPAY_RELAY_IDLE_AFTER_S are over, and what it had only prefetched is published again by
the relay. The simulator's ledger shows every instruction applied exactly once.
"""

from __future__ import annotations

import signal
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.auth.models import Role
from app.cli import node_name
from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from tests.conftest import migrated_database
from tests.e2e.cases import account_at, assert_exactly_once, post_case, settled
from tests.e2e.conftest import BROKERS
from tests.e2e.stack import Stack, running_stack, wait_for
from tests.factories import bearer, make_user
from workers.celery_app import make_celery

pytestmark = [pytest.mark.slow, pytest.mark.every_broker]

BANKS = ("ICBC", "CCB", "ABC", "BOC", "BOCOM", "CMB", "CIB", "SPDB", "CITIC", "CMBC")
ACCOUNTS = 60
# Quicker than the default 45 s so the test is short; the mechanism is the same.
IDLE_AFTER_S = 15


@pytest.fixture(scope="module")
def own_database(broker: str) -> Iterator[str]:  # noqa: ARG001 - one per broker param
    """A database of this module's own: on the shared one, the shared stack's relay would
    publish this module's instructions to its own queue, and its simulator would do them."""
    with migrated_database() as url:
        yield url


@pytest.fixture(scope="module")
def headers(own_database: str) -> dict[str, str]:
    """A call-taker with a token, in this module's database."""
    engine = make_engine(own_database)
    with transaction(make_sessionmaker(engine)) as db:
        token = bearer(db, make_user(db, role=Role.call_taker))
    engine.dispose()
    return token


@pytest.fixture(scope="module")
def two_workers(
    broker: str, own_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    settings = {
        # One process each: the 60-account case comes as four fan-out messages, which the two
        # workers share; with slow acknowledgements the killed one dies with its calls in
        # flight (and, if it took two messages, one of them maybe not yet claimed).
        "STOPAY_WORKER_PROCESSES": "1",
        "STOPAY_WORKER_CONCURRENCY": "8",
        "STOPAY_RELAY_IDLE_AFTER_S": str(IDLE_AFTER_S),
    }
    with running_stack(
        database_url=own_database,
        broker_url=BROKERS[broker],
        queue=f"e2e-kill-{uuid.uuid4().hex[:8]}",
        workers=((), ()),
        settings=settings,
        logs=tmp_path_factory.mktemp(f"kill-{broker}"),
    ) as stack:
        yield stack


def _busy(stack: Stack, name: str) -> bool:
    """Whether the worker started as `name` is running a task now."""
    queue = stack.env["STOPAY_QUEUE"]
    settings = Settings(broker_url=stack.env["BROKER_URL"], queue=queue, _env_file=None)
    node = node_name(name, queue).replace("%h", socket.gethostname())
    app = make_celery(settings)
    with app.connection_for_write() as connection:
        inspect = app.control.inspect(destination=[node], timeout=2, connection=connection)
        replies = inspect.active()
    return bool((replies or {}).get(node))


def test_a_worker_killed_mid_fan_out_loses_nothing_and_sends_nothing_twice(
    two_workers: Stack, headers: dict[str, str]
) -> None:
    stack = two_workers
    with stack.api(headers) as api, stack.simulator() as sim:
        # Slow acknowledgements keep every worker thread inside an institution's call.
        changed = sim.post("/admin/profile", json={"ack_ms": [800, 1200]})
        assert changed.status_code == 200, changed.text
        targets = [account_at(BANKS[n % len(BANKS)]) for n in range(ACCOUNTS)]
        case_no = post_case(api, *targets)

        def under_way() -> bool:
            case = api.get(f"/api/v1/cases/{case_no}").json()
            return any(i["first_attempt_at"] for i in case["instructions"])

        wait_for(under_way, timeout=30, what="the first attempts")
        # Whichever worker has a fan-out under way dies (asked through Celery's remote
        # control): the test proves nothing if the one killed held nothing.
        victim = wait_for(
            lambda: next(filter(lambda name: _busy(stack, name), ("worker-2", "worker")), None),
            timeout=10,
            what="a worker with a task under way",
        )
        stack.stop(victim, sig=signal.SIGKILL)
        killed_at = time.monotonic()
        case = wait_for(
            lambda: settled(api, case_no),
            timeout=150,
            interval=0.5,
            what="every instruction to finish after the kill",
        )
        drained_s = time.monotonic() - killed_at
        assert {i["state"] for i in case["instructions"]} == {"done"}
        assert len(case["instructions"]) == ACCOUNTS + 1  # and the national registration
        assert_exactly_once(sim, case)
        # The lease (20 s) and the relay's idle wait bound the delay; well inside 2 minutes.
        assert drained_s < 20 + IDLE_AFTER_S + 30, drained_s


@pytest.fixture(scope="module")
def two_lanes(
    broker: str, own_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    settings = {"STOPAY_WORKER_PROCESSES": "1", "STOPAY_WORKER_CONCURRENCY": "8"}
    with running_stack(
        database_url=own_database,
        broker_url=BROKERS[broker],
        queue=f"e2e-lanes-{uuid.uuid4().hex[:8]}",
        settings=settings,
        workers=(("--lane=banks",), ("--lane=payments",)),
        logs=tmp_path_factory.mktemp(f"lanes-{broker}"),
    ) as stack:
        yield stack


def _states(case: dict[str, Any], codes: set[str]) -> set[str]:
    return {i["state"] for i in case["instructions"] if i["institution"] in codes}


def test_two_lanes_share_the_fan_out_and_a_dead_lane_delays_only_its_own(
    two_lanes: Stack, headers: dict[str, str]
) -> None:
    """A banks' worker and a payment institutions' worker, each on its own queue. With the
    payments' worker killed, the banks' instructions complete and the wallets' wait in
    their queue; when it is back they complete too, each applied once."""
    stack = two_lanes
    wallets = {"ALIPAY", "TENPAY"}
    stack.stop("worker-2", sig=signal.SIGKILL)
    with stack.api(headers) as api, stack.simulator() as sim:
        targets = [account_at(code) for code in ("ICBC", "CCB", "ABC", *sorted(wallets))]
        case_no = post_case(api, *targets)

        def banks_done() -> dict[str, Any] | None:
            case = api.get(f"/api/v1/cases/{case_no}").json()
            return case if _states(case, {"ICBC", "CCB", "ABC", "NFPP"}) == {"done"} else None

        case = wait_for(banks_done, timeout=30, what="the banks' lane")
        assert _states(case, wallets) == {"pending"}, "no worker takes the payments' lane"
        stack.start("worker-2", "worker", "--name=worker-2", "--lane=payments")
        case = wait_for(lambda: settled(api, case_no), timeout=90, what="the payments' lane")
        assert _states(case, wallets) == {"done"}
        assert_exactly_once(sim, case)
