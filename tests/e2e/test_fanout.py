"""End to end: real API, worker, beat, broker, database and simulator processes.

After each test the simulator's ledger (what the institution actually did) is checked against
our database: every instruction applied exactly once.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from kombu import Connection

from app.config import get_settings
from app.dispatch.broker import make_client
from tests.e2e.cases import account_at, assert_exactly_once, post_case, read_case, settled
from tests.e2e.stack import Stack, wait_for
from tests.factories import case_payload, fresh_card_no, transfer_payload

pytestmark = pytest.mark.slow


@pytest.mark.every_broker
def test_scenario_1_one_card_fully_stopped(fresh_simulator: Stack, headers: dict[str, str]) -> None:
    stack = fresh_simulator
    target = {"institution": "CCB", "account_no": fresh_card_no("CCB"), "holder_name": "刘某"}
    payload = case_payload(transfers=[transfer_payload(to=target, amount="455400.00")])
    with stack.api(headers) as api, stack.simulator() as sim:
        created = api.post("/api/v1/cases", json=payload)
        assert created.status_code == 201, created.text
        case_no = created.json()["case_no"]
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the case to settle")
        [stop] = [i for i in case["instructions"] if i["kind"] == "stop_payment"]
        assert (stop["outcome"], stop["amount_stopped"]) == ("stopped_full", "455400.00")
        assert stop["institution_ref"]
        assert stop["ack_ms"] is not None
        assert stop["completion_ms"] >= stop["ack_ms"]
        [register] = [i for i in case["instructions"] if i["kind"] == "register"]
        assert register["outcome"] == "registered"
        assert case["status"] == "stopped"
        assert_exactly_once(sim, case)
    _assert_logs(stack, case_no, stop["id"], payload)


def _assert_logs(stack: Stack, case_no: str, stop_id: int, payload: dict[str, Any]) -> None:
    """Every process logs JSON lines; the API's name the case and the instruction its callback
    was about; no log holds the victim's personal data."""
    api = stack.log_lines("api")
    assert any(
        line.get("case_no") == case_no and line["message"].startswith("case received")
        for line in api
    )
    assert any(
        (line.get("case_no"), line.get("instruction_id")) == (case_no, stop_id)
        and line["logger"] == "app.callbacks.service"
        for line in api
    )
    assert any(line["logger"] == "uvicorn.access" for line in api)
    victim = payload["victim"]
    for name in ("api", "worker", "beat", "simulator"):
        assert {line["role"] for line in stack.log_lines(name)} <= {name}
        text = stack.log(name)
        for value in (victim["name"], victim["id_no"], victim["phone"]):
            assert value not in text, (name, value)


def _stops(case: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [
        i for i in case["instructions"] if i["kind"] == "stop_payment" and i["institution"] == code
    ]


def test_a_mismatch_is_corrected_and_resent(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    stack = fresh_simulator
    on_file = account_at("CIB", holder="张伟")
    with stack.api(headers) as api, stack.simulator() as sim:
        loaded = sim.post(
            "/admin/scenario",
            json={
                "accounts": [
                    {
                        "institution": "CIB",
                        "account_no": on_file["account_no"],
                        "holder_name": "张伟",
                        "balance": "1000.00",
                    }
                ]
            },
        )
        assert loaded.status_code == 200, loaded.text
        case_no = post_case(api, {**on_file, "holder_name": "张卫"})
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the mismatch")
        [bounced] = _stops(case, "CIB")
        assert (bounced["outcome"], bounced["mismatch_field"]) == ("mismatch", "holder_name")
        assert case["status"] == "nothing_stopped"

        resent = api.post(
            f"/api/v1/cases/{case_no}/instructions/{bounced['id']}/resend",
            json={"holder_name": "张伟"},
        )
        assert resent.status_code == 201, resent.text
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the resend")
        assert [s["outcome"] for s in _stops(case, "CIB")] == ["mismatch", "stopped_full"]
        assert case["status"] == "stopped"
        assert_exactly_once(sim, case)


def test_an_institution_that_times_out_then_recovers(
    fresh_simulator: Stack, headers: dict[str, str], tune: Callable[..., None]
) -> None:
    stack = fresh_simulator
    tune("CEB", read_timeout_s=1)
    with stack.api(headers) as api, stack.simulator() as sim:
        assert (
            sim.post(
                "/admin/outage", json={"institution": "CEB", "mode": "hang", "seconds": 3}
            ).status_code
            == 200
        )
        case_no = post_case(api, account_at("CEB"))
        case = wait_for(lambda: settled(api, case_no), timeout=60, what="recovery")
        [stop] = _stops(case, "CEB")
        assert stop["outcome"] == "stopped_full"
        assert stop["attempts"] >= 2
        assert "no answer in time" in (stop["last_error"] or "")
        assert_exactly_once(sim, case)
    retries = [
        line
        for line in stack.log_lines("worker")
        if line.get("instruction_id") == stop["id"] and "retrying" in line["message"]
    ]
    assert retries, "the worker logs each failed attempt"
    assert {(line["case_no"], line["institution"]) for line in retries} == {(case_no, "CEB")}


def test_an_outage_escalates_without_delaying_the_others(
    fresh_simulator: Stack, headers: dict[str, str], tune: Callable[..., None]
) -> None:
    stack = fresh_simulator
    tune("HXB", sla_s=2)
    with stack.api(headers) as api, stack.simulator() as sim:
        assert (
            sim.post(
                "/admin/outage", json={"institution": "HXB", "mode": "refuse", "seconds": 10}
            ).status_code
            == 200
        )
        case_no = post_case(api, account_at("HXB"), account_at("CCB"), account_at("ALIPAY"))

        def escalated_while_others_done() -> dict[str, Any] | None:
            case = read_case(api, case_no)
            [down] = _stops(case, "HXB")
            others = [i for i in case["instructions"] if i["institution"] != "HXB"]
            done = all(i["state"] == "done" for i in others)
            return case if down["state"] == "escalated" and done else None

        case = wait_for(escalated_while_others_done, timeout=30, what="escalation")
        others = [i for i in case["instructions"] if i["institution"] != "HXB"]
        assert max(i["completion_ms"] for i in others) < 8000, "the outage delayed the others"
        case = wait_for(lambda: settled(api, case_no), timeout=90, what="delivery after it")
        [stop] = _stops(case, "HXB")
        assert stop["outcome"] == "stopped_full"
        assert stop["escalated_at"] is not None
        assert stop["completion_ms"] >= 9000
        assert_exactly_once(sim, case)


def test_rate_limiting_slows_but_loses_nothing(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    stack = fresh_simulator
    with stack.api(headers) as api, stack.simulator() as sim:
        limited = sim.post("/admin/profile", json={"institution": "CMBC", "rate_limit_per_s": 2})
        assert limited.status_code == 200, limited.text
        case_no = post_case(api, *(account_at("CMBC") for _ in range(8)))
        case = wait_for(lambda: settled(api, case_no), timeout=90, what="all eight")
        assert {s["outcome"] for s in _stops(case, "CMBC")} == {"stopped_full"}
        ledger = sim.get("/admin/ledger", params={"case_no": case_no}).json()
        entries = ledger["entries"] if isinstance(ledger, dict) else ledger
        assert any(e["entry"] == "received" and e["status_code"] == 429 for e in entries)
        assert_exactly_once(sim, case)


def test_callbacks_that_fail_for_a_while_are_retried_and_applied_once(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    stack = fresh_simulator
    with stack.api(headers) as api, stack.simulator() as sim:
        assert sim.post("/admin/callbacks", json={"mode": "fail", "seconds": 3}).status_code == 200
        case_no = post_case(api, account_at("SPDB"), account_at("CITIC"))
        case = wait_for(lambda: settled(api, case_no), timeout=60, what="late callbacks")
        assert case["status"] == "stopped"
        assert min(i["completion_ms"] for i in case["instructions"]) >= 2500
        assert_exactly_once(sim, case)


@pytest.mark.every_broker
def test_special_cases_go_first_when_the_queue_is_long(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    """Scenario 3: with a backlog, the enterprise case's instructions are sent first."""
    stack = fresh_simulator
    low = case_payload(
        transfers=[
            transfer_payload(to=account_at("PAB"), amount="300.00", minutes_ago=3000)
            for _ in range(25)
        ]
    )
    special = case_payload(
        victim={
            "name": "某科技有限公司会计",
            "is_enterprise": True,
            "enterprise_name": "某科技有限公司",
        },
        transfers=[transfer_payload(to=account_at("PAB"), amount="12000.00") for _ in range(25)],
    )
    # Beat stopped too: its tasks would share the queue, so the count below would not be of
    # the two cases' messages alone, and its relay could publish one case's again.
    stack.stop("beat")
    stack.stop("worker")
    try:
        with stack.api(headers) as api:
            low_no = api.post("/api/v1/cases", json=low).json()["case_no"]
            special_answer = api.post("/api/v1/cases", json=special).json()
            assert special_answer["priority"] == "special"
            # Both cases' bank tasks (25 instructions each: two messages) are in the broker
            # before the worker starts: the API publishes from a thread of its own, and on a
            # busy machine a fixed sleep let the worker find the first case's alone.
            broker, queue = stack.env["BROKER_URL"], stack.env["STOPAY_QUEUE"]
            wait_for(lambda: queued_tasks(broker, queue) >= 4, timeout=30, what="the backlog")
            # One task at a time, in one process (the stack's default is two): the backlog is
            # taken in priority order, so the comparison below is of that order, not of two
            # tasks that happened to start together.
            stack.start("worker", "worker", "--processes", "1", "--concurrency", "1")
            cases = [
                wait_for(lambda no=no: settled(api, no), timeout=90, what=no)
                for no in (low_no, special_answer["case_no"])
            ]
    finally:
        stack.stop("worker")
        stack.start("worker", "worker")
        stack.start("beat", "beat")
    low_first, special_first = (
        statistics.median(
            dt.datetime.fromisoformat(i["first_attempt_at"]).timestamp()
            for i in _stops(case, "PAB")
        )
        for case in cases
    )
    assert special_first < low_first, "the special case waited behind the low one"


@pytest.mark.every_broker
def test_a_task_lost_in_the_broker_is_sent_anyway(
    fresh_simulator: Stack, headers: dict[str, str]
) -> None:
    """The fast-path message vanishes (a broker restart without persistence): the outbox
    relay publishes the instructions again and they complete, each applied once."""
    stack = fresh_simulator
    stack.stop("worker")
    try:
        with stack.api(headers) as api, stack.simulator() as sim:
            case_no = post_case(api, account_at("CGB"), account_at("BOB"))
            time.sleep(0.5)  # the fast path has published by now
            lost = drop_queued_tasks(stack.env["BROKER_URL"], stack.env["STOPAY_QUEUE"])
            assert lost >= 1, "the fast-path message should have been queued"
            stack.start("worker", "worker")
            case = wait_for(lambda: settled(api, case_no), timeout=60, what="the relay")
            assert case["status"] == "stopped"
            assert_exactly_once(sim, case)
    finally:
        if "worker" not in stack.processes:
            stack.start("worker", "worker")


def _broker(broker_url: str) -> Connection:
    """A connection with the options the API and the workers use (on Redis, ten priority
    lists per queue), so kombu names and counts the queue's lists itself."""
    settings = get_settings().model_copy(update={"broker_url": broker_url})
    return make_client(settings).connection_for_write()


def queued_tasks(broker_url: str, queue: str) -> int:
    """How many messages wait in the banks' lane of the queue, without taking them."""
    redis = broker_url.startswith("redis")
    with _broker(broker_url) as connection:
        # RabbitMQ: passive (the worker declared the queue, with its arguments); a Redis
        # queue is its lists, which kombu counts whether or not any exists yet.
        _, waiting, _ = connection.default_channel.queue_declare(queue=queue, passive=not redis)
        return int(waiting)


def drop_queued_tasks(broker_url: str, queue: str) -> int:
    """Delete every message waiting in the banks' lane of the queue; returns how many."""
    with _broker(broker_url) as connection:
        return int(connection.default_channel.queue_purge(queue) or 0)
