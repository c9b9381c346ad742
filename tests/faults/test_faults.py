"""One fault each, injected while cases keep arriving; then the reckoning: every acknowledged
case committed, no instruction lost, none applied twice, everything final."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.dispatch.models import Instruction
from app.institutions.models import Institution
from tests.callbacks.signing import outcome, signed
from tests.e2e.stack import Stack, wait_for
from tests.faults.conftest import FULL
from tests.faults.load import CaseStream, Reckoning, Sent, committed, drain, reckon
from tests.faults.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture
def simulator(stack: Stack) -> Stack:
    with stack.simulator() as sim:
        assert sim.post("/admin/reset").status_code == 200
    return stack


def _settle(
    fault: str,
    *,
    stack: Stack,
    factory: sessionmaker[Session],
    sent: list[Sent],
    fault_ended: float,
    timeout: float,
    reckonings: list[Reckoning],
) -> Reckoning:
    """Wait until every committed case's instructions are final, then reckon and check."""
    drain(factory, list(committed(factory, sent).values()), timeout=timeout)
    found = reckon(
        fault,
        factory=factory,
        sent=sent,
        simulator_url=stack.simulator_url,
        drain_s=time.monotonic() - fault_ended,
    )
    _check(found, reckonings)
    return found


def _check(found: Reckoning, reckonings: list[Reckoning]) -> None:
    reckonings.append(found)
    assert found.cases_sent > 0
    assert found.acknowledged_missing == 0, found
    assert found.lost == 0, found
    assert found.duplicate_effects == 0, found


def test_redis_stopped_while_cases_keep_arriving(
    simulator: Stack,
    servers: tuple[PostgresServer, RedisServer],
    headers: dict[str, str],
    factory: sessionmaker[Session],
    reckonings: list[Reckoning],
) -> None:
    """Intake answers 201 throughout; everything is dispatched soon after Redis is back."""
    _, redis = servers
    outage_s = 30 if FULL else 5
    stream = CaseStream(simulator.api_url, headers).start()
    time.sleep(2)
    redis.stop()
    time.sleep(outage_s)
    during = [s for s in stream.sent if s.status != 201]
    redis.start()
    back = time.monotonic()
    time.sleep(2)
    sent = stream.stop()
    assert during == [], "intake must answer 201 while the broker is down"
    found = _settle(
        f"Redis stopped for {outage_s} s",
        stack=simulator,
        factory=factory,
        sent=sent,
        fault_ended=back,
        timeout=60,
        reckonings=reckonings,
    )
    assert found.cases_found == found.cases_sent == len(sent)


def test_postgres_restarted_under_load(
    simulator: Stack,
    servers: tuple[PostgresServer, RedisServer],
    headers: dict[str, str],
    factory: sessionmaker[Session],
    reckonings: list[Reckoning],
) -> None:
    """While it is down intake answers 503 problem+json, never a 201 for a case it did not
    commit; afterwards it recovers by itself."""
    postgres, _ = servers
    stream = CaseStream(simulator.api_url, headers).start()
    time.sleep(2)
    postgres.stop()
    time.sleep(5)
    postgres.start()
    back = time.monotonic()
    wait_for(
        lambda: httpx.get(f"{simulator.api_url}/readyz").status_code == 200,
        timeout=60,
        what="the API to be ready again",
    )
    time.sleep(3)
    sent = stream.stop()
    refused = [s for s in sent if s.status not in (201, None)]
    assert refused, "the stream should have met the outage"
    assert {s.status for s in refused} == {503}, refused
    assert sent[-1].status == 201, "intake recovers by itself"
    found = _settle(
        "PostgreSQL restarted (5 s down)",
        stack=simulator,
        factory=factory,
        sent=sent,
        fault_ended=back,
        timeout=90,
        reckonings=reckonings,
    )
    # What was refused was not stored: the database holds exactly the acknowledged cases.
    assert found.cases_found == found.cases_sent


def test_the_simulators_callbacks_failing_for_a_while(
    simulator: Stack,
    headers: dict[str, str],
    factory: sessionmaker[Session],
    reckonings: list[Reckoning],
) -> None:
    """The institutions keep retrying their callbacks; when they get through, each is
    applied once."""
    failing_s = 180 if FULL else 6
    with simulator.simulator() as sim:
        assert sim.post("/admin/callbacks", json={"mode": "fail", "seconds": failing_s}).is_success
    started = time.monotonic()
    stream = CaseStream(simulator.api_url, headers).start()
    time.sleep(min(failing_s, 20) - 3)
    sent = stream.stop()
    # The fault is real: the institutions took the instructions, and no outcome got through.
    with factory() as db:
        ours = select(Instruction).where(Instruction.case_id.in_(committed(factory, sent).values()))
        instructions = list(db.scalars(ours))
    assert any(i.acked_at for i in instructions)
    assert not [i.id for i in instructions if i.completed_at is not None]
    time.sleep(max(0.0, failing_s - (time.monotonic() - started)))
    back = time.monotonic()
    _settle(
        f"callbacks failing for {failing_s} s",
        stack=simulator,
        factory=factory,
        sent=sent,
        fault_ended=back,
        timeout=60,
        reckonings=reckonings,
    )


Storm = tuple[bytes, dict[str, str]]  # a signed callback: body and headers


def test_a_storm_of_duplicate_reordered_and_late_callbacks(
    simulator: Stack,
    headers: dict[str, str],
    factory: sessionmaker[Session],
    reckonings: list[Reckoning],
) -> None:
    """Once the cases are finished, every instruction's callback comes again: the same
    message several times, the same outcome under a new id, and a late contradicting one,
    all shuffled and sent at once. Nothing changes, and nothing new is sent."""
    sent = CaseStream(simulator.api_url, headers, rate=4).start()
    time.sleep(5)
    case_ids = list(committed(factory, sent.stop()).values())
    drain(factory, case_ids, timeout=60)
    now = dt.datetime.now(dt.UTC)
    storm: list[tuple[str, Storm]] = []
    with factory() as db:
        done = list(db.scalars(select(Instruction).where(Instruction.case_id.in_(case_ids))))
        codes = dict(db.execute(select(Institution.id, Institution.code)).all())
        for i in done:
            code = codes[i.institution_id]
            again = outcome(i, outcome=i.outcome, amount_stopped=str(i.amount_stopped or "0.00"))
            late = outcome(
                i,
                outcome="no_funds",
                amount_stopped="0.00",
                effective_at=(now - dt.timedelta(hours=1)).isoformat(),
            )
            storm += [(code, signed(db, code, again, at=now))] * 3  # one message, three times
            storm += [
                (code, signed(db, code, again, at=now)),  # the same outcome, a new id
                (code, signed(db, code, late, at=now)),
            ]
    before = {i.id: (i.state, i.outcome, i.amount_stopped) for i in done}
    random.shuffle(storm)
    storm_started = time.monotonic()

    def deliver(item: tuple[str, Storm]) -> int:
        code, (body, signed_headers) = item
        url = f"{simulator.api_url}/api/v1/callbacks/{code}"
        return httpx.post(url, content=body, headers=signed_headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = Counter(pool.map(deliver, storm))
    # Never a server error. The late outcome is dated before its instruction went out (or is
    # not of its kind): impossible, so refused with 422 and kept as a refused callback.
    assert set(answers) <= {200, 409, 422}, answers
    assert answers[422] <= len(done), answers
    with factory() as db:
        now_held = db.scalars(select(Instruction).where(Instruction.case_id.in_(case_ids)))
        after = {i.id: (i.state, i.outcome, i.amount_stopped) for i in now_held}
    changed = sum(1 for key, was in before.items() if after.get(key) != was)
    changed += len(set(after) - set(before))  # a late no_funds must not start a query
    found = reckon(
        f"callback storm ({len(storm)} callbacks)",
        factory=factory,
        sent=sent.sent,
        simulator_url=simulator.simulator_url,
        drain_s=time.monotonic() - storm_started,
        changed_after=changed,
    )
    _check(found, reckonings)


def test_institutions_that_hang_fail_and_rate_limit(
    simulator: Stack,
    headers: dict[str, str],
    factory: sessionmaker[Session],
    reckonings: list[Reckoning],
) -> None:
    """One bank hangs, one answers 500 to everything, one allows two calls a second; the
    others are not held up, and when the faults end everything completes, once."""
    outage_s = 60 if FULL else 6
    with simulator.simulator() as sim:
        for code, mode in (("CEB", "hang"), ("HXB", "error")):
            outage = {"institution": code, "mode": mode, "seconds": outage_s}
            started = sim.post("/admin/outage", json=outage)
            assert started.status_code == 200, started.text
        limited = sim.post("/admin/profile", json={"institution": "CMBC", "rate_limit_per_s": 2})
        assert limited.status_code == 200, limited.text
    began = time.monotonic()
    stream = CaseStream(
        simulator.api_url,
        headers,
        rate=3,
        accounts=4,
        banks=("CEB", "HXB", "CMBC", "ICBC", "CCB", "ABC"),
    ).start()
    time.sleep(min(outage_s, 20))
    sent = stream.stop()
    time.sleep(max(0.0, outage_s - (time.monotonic() - began)))
    back = time.monotonic()
    _settle(
        f"CEB hangs, HXB answers 500 for {outage_s} s; CMBC 2 calls/s",
        stack=simulator,
        factory=factory,
        sent=sent,
        fault_ended=back,
        timeout=120,
        reckonings=reckonings,
    )
    with simulator.simulator() as sim:
        sim.post("/admin/profile", json={"institution": "CMBC", "rate_limit_per_s": None})
