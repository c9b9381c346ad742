"""The supervisors' dashboard in Chromium against the real processes (API, worker, beat,
simulator), with the settable legal clock so deadlines come due without waiting 48 hours."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit
from app.db import make_engine, make_sessionmaker, transaction
from tests.conftest import migrated_database
from tests.e2e.stack import Stack, running_stack, wait_for
from tests.factories import (
    PASSWORD,
    bearer,
    case_payload,
    fresh_card_no,
    make_user,
    transfer_payload,
)

pytestmark = pytest.mark.slow

BROKER = "redis://127.0.0.1:6379/10"
QUEUE = f"dash-{uuid.uuid4().hex[:12]}"
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
GREEN, BLUE = "rgb(46, 125, 50)", "rgb(61, 123, 224)"


@pytest.fixture(scope="module")
def dash_sessions() -> Iterator[sessionmaker[Session]]:
    with migrated_database() as url:
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        engine.dispose()


@pytest.fixture(scope="module")
def dash_stack(
    dash_sessions: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    url = dash_sessions.kw["bind"].url.render_as_string(hide_password=False)
    settings = {
        "STOPAY_WORKER_PROCESSES": "1",
        "STOPAY_WORKER_CONCURRENCY": "16",
        "STOPAY_SETTABLE_CLOCK": "true",
        "STOPAY_LEGAL_CLOCK_INTERVAL_S": "1",
    }
    with running_stack(
        database_url=url,
        broker_url=BROKER,
        queue=QUEUE,
        logs=tmp_path_factory.mktemp("dash-stack"),
        settings=settings,
    ) as stack:
        yield stack


@dataclass(frozen=True)
class Staff:
    supervisor: str  # username; the password is PASSWORD
    call_taker: str
    taker_token: dict[str, str]
    boss_token: dict[str, str]
    admin_token: dict[str, str]


@pytest.fixture
def staff(dash_sessions: sessionmaker[Session]) -> Staff:
    """A call-taker, a supervisor and an admin of one unit of their own."""
    with transaction(dash_sessions) as db:
        taker = make_user(db, role=Role.call_taker)
        unit = db.get_one(Unit, taker.unit_id)
        boss = make_user(db, role=Role.supervisor, unit=unit)
        return Staff(
            boss.username,
            taker.username,
            bearer(db, taker),
            bearer(db, boss),
            bearer(db, make_user(db, role=Role.admin, unit=unit)),
        )


@pytest.fixture
def page(browser: Browser, dash_stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        base_url=dash_stack.api_url, viewport={"width": 1480, "height": 1000}, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def sim(dash_stack: Stack) -> Iterator[httpx.Client]:
    with dash_stack.simulator() as client:
        assert client.post("/admin/reset").status_code == 200
        yield client


def log_in(page: Page, username: str, to: str = "/dashboard") -> None:
    page.goto(f"/login?next={to}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"**{to}")


def submit(stack: Stack, staff: Staff, transfers: list[dict[str, Any]]) -> str:
    with stack.api(staff.taker_token) as api:
        answer = api.post("/api/v1/cases", json=case_payload(transfers=transfers))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["case_no"])


def one_card(amount: str = "50000.00") -> tuple[str, list[dict[str, Any]]]:
    card = fresh_card_no("CCB")
    to = {"institution": "CCB", "account_no": card, "holder_name": "刘某"}
    return card, [transfer_payload(to=to, amount=amount)]


def test_a_call_taker_is_refused_the_dashboard(page: Page, staff: Staff) -> None:
    log_in(page, staff.call_taker, to="/")
    answer = page.goto("/dashboard")
    assert answer is not None
    assert answer.status == 403


def test_a_new_case_appears_live_and_its_stop_turns_green_when_the_callback_lands(
    page: Page, staff: Staff, dash_stack: Stack, sim: httpx.Client
) -> None:
    log_in(page, staff.supervisor)
    expect(page.locator("#panel-queue")).to_be_visible()
    page.wait_for_timeout(1500)  # the stream's first round is in: what follows is a change
    # The bank acknowledges at once but its callback waits: the stop stays "sent" meanwhile.
    assert sim.post("/admin/callbacks", json={"mode": "fail", "seconds": 8}).status_code == 200
    _, transfers = one_card()
    case_no = submit(dash_stack, staff, transfers)
    answered = time.monotonic()
    row = page.locator(f"#queue tr[data-case='{case_no}']")
    row.wait_for(state="visible", timeout=5_000)
    seen_after = time.monotonic() - answered
    # The target is 1 s (0.2-0.4 s measured on a quiet machine, 0.8 s with a test run beside
    # it); the margin keeps a shared CI machine from failing a change that meets it.
    assert seen_after < 1.5, f"the new case showed {seen_after:.2f} s after its 201"

    row.locator("a").click()
    page.wait_for_url(f"**/dashboard/cases/{case_no}")
    account = page.locator("#trail tr.account[data-level='1']")
    expect(account).to_have_attribute("data-status", "sent")
    swatch = account.locator(".swatch")
    expect(swatch).to_have_css("background-color", BLUE)
    expect(account).to_have_attribute("data-status", "stopped", timeout=20_000)
    expect(swatch).to_have_css("background-color", GREEN)
    colours = page.evaluate("""() => echarts
        .getInstanceByDom(document.getElementById('trail-chart'))
        .getOption().series[0].data.map(n => [n.level, n.itemStyle.color])""")
    assert [1, "#2e7d32"] in colours


def test_the_money_trail_of_scenario_4_leads_to_the_level_2_card(
    page: Page, staff: Staff, dash_stack: Stack, sim: httpx.Client
) -> None:
    answer = sim.post(
        "/admin/scenario",
        headers={"content-type": "application/yaml"},
        content=(SCENARIOS / "scenario-4-leader-impersonation.yaml").read_bytes(),
    )
    assert answer.status_code == 200, answer.text
    to = {"institution": "CCB", "account_no": "6217000201234567897", "holder_name": "刘某"}
    case_no = submit(
        dash_stack,
        staff,
        [transfer_payload(to=to, amount="580000.00", occurred_at="2026-11-22T09:20:00+08:00")],
    )
    log_in(page, staff.supervisor)
    page.locator(f"#queue tr[data-case='{case_no}'] a").click()
    level2 = page.locator("#trail tr.account[data-level='2']")
    expect(level2).to_contain_text("6225880201234567895", timeout=30_000)
    expect(level2).to_have_attribute("data-status", "partial", timeout=30_000)
    expect(level2).to_contain_text("210,000.00")
    level1 = page.locator("#trail tr.account[data-level='1']")
    expect(level1).to_contain_text("350,000.00")
    expect(page.locator("#trail tr.account[data-level='3']")).to_have_count(1)
    graph = page.evaluate("""() => {
        const option = echarts.getInstanceByDom(document.getElementById('trail-chart')).getOption();
        return {nodes: option.series[0].data.map(n => [n.level, n.account_no, n.status]),
                numbers: Object.fromEntries(option.series[0].data.map(n => [n.id, n.account_no])),
                links: option.series[0].links.map(l => [l.source, l.target, l.amount])};
    }""")
    assert [2, "6225880201234567895", "partial"] in graph["nodes"]
    numbers = graph["numbers"]
    links = [
        [numbers[source], numbers[target], amount] for source, target, amount in graph["links"]
    ]
    assert ["6217000201234567897", "6225880201234567895", "230000.00"] in links


@pytest.mark.usefixtures("sim")
def test_a_supervisor_reveals_the_victims_masked_id_number(
    page: Page, staff: Staff, dash_stack: Stack
) -> None:
    _, transfers = one_card()
    case_no = submit(dash_stack, staff, transfers)
    log_in(page, staff.supervisor, to=f"/dashboard/cases/{case_no}")
    # Once the stop has its outcome the case's head stays as it is (no swap under the test).
    account = page.locator("#trail tr.account[data-level='1']")
    expect(account).to_have_attribute("data-status", "stopped", timeout=20_000)
    id_no = page.locator("#victim-id-no")
    expect(id_no).to_contain_text("1101**********002X")
    expect(page.locator("body")).not_to_contain_text("11010519491231002X")
    id_no.locator("button.reveal").click()
    expect(id_no.locator(".revealed")).to_have_text("11010519491231002X")
    with dash_stack.api(staff.boss_token) as boss:
        events = boss.get(f"/api/v1/cases/{case_no}").json()["events"]
    assert [e["data"] for e in events if e["kind"] == "pii.revealed"] == [{"field": "victim.id_no"}]


@pytest.mark.usefixtures("sim")
def test_a_stop_payment_is_frozen_from_the_deadlines_panel(
    page: Page, staff: Staff, dash_stack: Stack
) -> None:
    card, transfers = one_card("42000.00")
    case_no = submit(dash_stack, staff, transfers)
    with dash_stack.api(staff.boss_token) as boss:
        stop = wait_for(
            lambda: next(
                (
                    i
                    for i in boss.get(f"/api/v1/cases/{case_no}").json()["instructions"]
                    if i["kind"] == "stop_payment" and i["outcome"] == "stopped_full"
                ),
                None,
            ),
            timeout=30,
            what="the stop-payment",
        )
    expires = dt.datetime.fromisoformat(stop["expires_at"])
    with dash_stack.api(staff.admin_token) as admin:
        at = (expires - dt.timedelta(hours=5)).isoformat()
        assert admin.put("/api/v1/admin/clock", json={"at": at}).status_code == 200
        try:
            with dash_stack.api(staff.boss_token) as boss:
                wait_for(
                    lambda: any(
                        e["kind"] == "hold.lapse_warning"
                        for e in boss.get(f"/api/v1/cases/{case_no}").json()["events"]
                    ),
                    timeout=15,
                    what="beat's lapse warning",
                )
            log_in(page, staff.supervisor)
            due = page.locator(f"#deadlines li.lapsing[data-account='{card}']")
            expect(due).to_contain_text(case_no)
            due.locator("input[name='document_no']").fill("穗公（反诈）冻字〔2026〕77号")
            due.locator("button").click()
            expect(due).to_have_count(0, timeout=20_000)  # the freeze now follows the stop
        finally:
            assert admin.delete("/api/v1/admin/clock").status_code == 200
    with dash_stack.api(staff.boss_token) as boss:
        case = boss.get(f"/api/v1/cases/{case_no}").json()
    [freeze] = [i for i in case["instructions"] if i["kind"] == "freeze"]
    assert freeze["document_no"] == "穗公（反诈）冻字〔2026〕77号"
    assert freeze["account_no"] == card
