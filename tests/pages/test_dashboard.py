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
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit, User
from app.db import transaction
from tests.e2e.stack import Stack, wait_for
from tests.factories import (
    PASSWORD,
    bearer,
    case_payload,
    fresh_card_no,
    make_user,
    transfer_payload,
)
from tests.pages.conftest import own_sessions, stack_on
from tests.pages.evidence import screenshot_dir

pytestmark = pytest.mark.slow

BROKER = "redis://127.0.0.1:6379/10"
QUEUE = f"dash-{uuid.uuid4().hex[:12]}"
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
GREEN, BLUE = "rgb(46, 125, 50)", "rgb(61, 123, 224)"


@pytest.fixture(scope="module")
def dash_sessions() -> Iterator[sessionmaker[Session]]:
    with own_sessions() as sessions:
        yield sessions


@pytest.fixture(scope="module")
def dash_stack(
    dash_sessions: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with stack_on(
        dash_sessions,
        queue=QUEUE,
        broker=BROKER,
        logs=tmp_path_factory.mktemp("dash-stack"),
        STOPAY_SETTABLE_CLOCK="true",
        STOPAY_LEGAL_CLOCK_INTERVAL_S="1",
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
    # Its fate: acknowledged by the bank (sent, not yet acknowledged, is a lighter blue).
    expect(account).to_have_attribute("data-status", "acked")
    swatch = account.locator(".swatch")
    expect(swatch).to_have_css("background-color", BLUE)
    expect(account).to_have_attribute("data-status", "stopped", timeout=20_000)
    expect(swatch).to_have_css("background-color", GREEN)
    # The chart redraws once the row's swap settles: the level-1 node turns the row's green.
    page.wait_for_function(
        """green => echarts.getInstanceByDom(document.getElementById('trail-chart'))
            .getOption().series[0].data.some(n => n.level === 1 && n.itemStyle.color === green)""",
        arg=GREEN,
        timeout=5_000,
    )
    # The chart asks a swatch of its own for each colour; nobody sees that swatch.
    expect(page.locator("body > span.swatch")).to_be_hidden()


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
    expect(level2).to_have_attribute("data-status", "partly_stopped", timeout=30_000)
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
    assert [2, "6225880201234567895", "partly_stopped"] in graph["nodes"]
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


# The trail's fates (app/casefile/fates.py) in the viewer's language.
TRAIL_AT = "2026-11-22T09:20:00+08:00"


def _chain() -> tuple[list[str], str, str]:
    """Cards for levels 1 to 4, and a small level-2 branch and a second level-1 card."""
    return (
        [fresh_card_no(b) for b in ("CCB", "CMB", "ABC", "ICBC")],
        fresh_card_no("ABC"),
        fresh_card_no("CMB"),
    )


def _scenario(cards: list[str], small: str) -> dict[str, object]:
    """Money moves one level on from each card, and 500 from level 1 to a small branch."""
    banks = ["CCB", "CMB", "ABC", "ICBC"]
    accounts: list[dict[str, object]] = []
    for level, (bank, card) in enumerate(zip(banks, cards, strict=True)):
        entry: dict[str, object] = {
            "institution": bank,
            "account_no": card,
            "holder_name": "王某" if level else "刘某",
            "balance": "10000.00",
            "incoming": [{"amount": f"{90000 - level * 20000}.00", "at": TRAIL_AT}],
        }
        if level < 3:
            onward = [
                {
                    "institution": banks[level + 1],
                    "account_no": cards[level + 1],
                    "holder_name": "王某",
                    "amount": f"{70000 - level * 20000}.00",
                    "at": TRAIL_AT,
                }
            ]
            if level == 0:
                onward.append(
                    {"institution": "ABC", "account_no": small, "amount": "500.00", "at": TRAIL_AT}
                )
            entry["onward"] = onward
        accounts.append(entry)
    return {"description": "four levels and a small branch", "accounts": accounts}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_trail_says_why_an_account_got_no_instruction(
    page: Page,
    staff: Staff,
    dash_stack: Stack,
    dash_sessions: sessionmaker[Session],
    sim: httpx.Client,
    language: str,
    tmp_path: Path,
) -> None:
    cards, small, other = _chain()
    answer = sim.post("/admin/scenario", json=_scenario(cards, small))
    assert answer.status_code == 200, answer.text
    first = {"institution": "CCB", "account_no": cards[0], "holder_name": "刘某"}
    # The second card is another case's first: held there, named differently there.
    submit(
        dash_stack,
        staff,
        [
            transfer_payload(
                to={"institution": "CMB", "account_no": other, "holder_name": "别案户名"},
                amount="30000.00",
            )
        ],
    )
    second = {"institution": "CMB", "account_no": other, "holder_name": "本案户名"}
    case_no = submit(
        dash_stack,
        staff,
        [
            transfer_payload(to=first, amount="90000.00", occurred_at=TRAIL_AT),
            transfer_payload(to=second, amount="30000.00", occurred_at=TRAIL_AT),
        ],
    )
    with transaction(dash_sessions) as db:
        taker = db.scalars(select(User).where(User.username == staff.call_taker)).one()
        unit = db.get_one(Unit, taker.unit_id)
        boss = make_user(db, role=Role.supervisor, language=language, unit=unit).username
    log_in(page, boss, to=f"/dashboard/cases/{case_no}")
    _check_trail(page, cards=cards, small=small, other=other, language=language)
    page.set_viewport_size({"width": 1440, "height": 1400})
    short = "zh" if language == "zh-CN" else "en"
    page.locator("#trail").screenshot(path=screenshot_dir(tmp_path) / f"trail-fates-{short}.png")


def _check_trail(page: Page, *, cards: list[str], small: str, other: str, language: str) -> None:
    rows = page.locator("#trail tr.account")
    deep = rows.filter(has_text=cards[3])
    expect(deep).to_have_attribute("data-status", "beyond_depth", timeout=40_000)
    expect(rows.filter(has_text=small)).to_have_attribute("data-status", "below_minimum")
    held = rows.filter(has_text=other)
    expect(held).to_have_attribute("data-status", "held_elsewhere")
    expect(held).to_contain_text("本案户名")
    expect(held).not_to_contain_text("别案户名")
    words = {
        "zh-CN": ("超出追踪层级", "低于追踪起点", "他案已控制"),
        "en": ("beyond the depth limit", "below the tracing minimum", "held by another case"),
    }[language]
    for row, word in zip((deep, rows.filter(has_text=small), held), words, strict=True):
        expect(row.locator("td.state")).to_contain_text(word)
    # Once the deepest bank has answered, nothing is left waiting or unexplained.
    statuses = set(rows.evaluate_all("rs => rs.map(r => r.dataset.status)"))
    assert statuses.isdisjoint({"waiting", "sent", "acked", "not_stopped"}), statuses
