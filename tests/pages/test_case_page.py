"""The supervisor's case page in Chromium, in both languages, against the real processes: the
timeline in words (links, filter), the actions menu by the account's hold, and a money trail
of 157 accounts whose labels do not overlap."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit
from app.db import transaction
from bench.support.cases import fanout_case
from tests.e2e.stack import Stack
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

BROKER = "redis://127.0.0.1:6379/7"
QUEUE = f"case-{uuid.uuid4().hex[:12]}"
SCENARIO_4 = (
    Path(__file__).resolve().parents[2] / "scenarios" / "scenario-4-leader-impersonation.yaml"
)
LANGS = ("en", "zh-CN")
LEAK = re.compile(r"[a-z]+_[a-z_]+|[{}\[\]]|\bNone\b")
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "created": "recorded the case: 1 transfer to 2 accounts, 2 instructions created",
        "held": "answered: stopped in full, ¥50,000.00 held",
        "instructions": "Instructions",
        "all": "All",
        "freeze": "Convert the stop-payment to a freeze",
        "renew": "Renew the stop-payment",
        "query": "Query",
        "release": "Release the stop-payment",
        "renewed": "asked to renew the stop-payment on",
        "followed": "Money followed to level 2 from CCB stop-payment on …7897: 1 stop-payment sent",
        "beyond": "Level 3 accounts not followed: beyond depth 2 (1 account, ¥20,000.00)",
        "outright": "Freeze",
    },
    "zh-CN": {
        "created": "录入案件：1 笔转账，涉及 2 个账户，生成 2 条指令",
        "held": "回复：全额止付，控制 ¥50,000.00",
        "instructions": "指令",
        "all": "全部",
        "freeze": "止付转冻结",
        "renew": "续止付",
        "query": "查询",
        "release": "解除止付",
        "renewed": "申请续期",
        "followed": "根据 CCB 止付（尾号 7897） 的回复追踪到第 2 级：新发 1 条止付",
        "beyond": "第 3 级账户未追踪：超出追踪深度 2 级（1 个账户，¥20,000.00）",
        "outright": "冻结",
    },
}


@pytest.fixture(scope="module")
def case_sessions() -> Iterator[sessionmaker[Session]]:
    with own_sessions() as sessions:
        yield sessions


@pytest.fixture(scope="module")
def case_stack(
    case_sessions: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    # Depth 2: scenario 4's level-3 card is where the trail stops being followed.
    with stack_on(
        case_sessions,
        queue=QUEUE,
        broker=BROKER,
        logs=tmp_path_factory.mktemp("case-stack"),
        STOPAY_TRACE_MAX_DEPTH="2",
    ) as stack:
        yield stack


@dataclass(frozen=True)
class Staff:
    supervisors: dict[str, str]  # by language: username (the password is PASSWORD)
    taker_token: dict[str, str]
    boss_token: dict[str, str]


@pytest.fixture(scope="module")
def staff(case_sessions: sessionmaker[Session]) -> Staff:
    with transaction(case_sessions) as db:
        taker = make_user(db, role=Role.call_taker)
        unit = db.get_one(Unit, taker.unit_id)
        bosses = {lang: make_user(db, role=Role.supervisor, unit=unit, language=lang)
                  for lang in LANGS}  # fmt: skip
        names = {lang: boss.username for lang, boss in bosses.items()}
        return Staff(names, bearer(db, taker), bearer(db, bosses["en"]))


@pytest.fixture
def page(browser: Browser, case_stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        base_url=case_stack.api_url, viewport={"width": 1480, "height": 1000}, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def open_case(page: Page, staff: Staff, lang: str, case_no: str) -> None:
    to = f"/dashboard/cases/{case_no}"
    page.goto(f"/login?next={to}")
    page.fill("#username", staff.supervisors[lang])
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"**{to}")


def submit(stack: Stack, staff: Staff, payload: dict[str, Any]) -> str:
    with stack.api(staff.taker_token) as api:
        answer = api.post("/api/v1/cases", json=payload)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["case_no"])


def stopped_case(stack: Stack, staff: Staff) -> str:
    """One transfer of ¥50,000 to a CCB card, which the simulated bank stops in full."""
    to = {"institution": "CCB", "account_no": fresh_card_no("CCB"), "holder_name": "刘某"}
    return submit(
        stack, staff, case_payload(transfers=[transfer_payload(to=to, amount="50000.00")])
    )


def suspect_row(page: Page) -> Locator:
    row = page.locator("#trail tr.account[data-level='1']")
    expect(row).to_have_attribute("data-status", "stopped", timeout=30_000)
    return row


@pytest.mark.parametrize("lang", LANGS)
def test_the_timeline_reads_in_words_links_to_instructions_and_filters_by_kind(
    page: Page, staff: Staff, case_stack: Stack, lang: str, tmp_path: Path
) -> None:
    words = WORDS[lang]
    case_no = stopped_case(case_stack, staff)
    open_case(page, staff, lang, case_no)
    suspect_row(page)
    timeline = page.locator("#timeline")
    expect(timeline.locator("li[data-kind='case.created']")).to_contain_text(words["created"])
    done = timeline.locator("li[data-kind='instruction.done']", has_text=words["held"])
    expect(done).to_have_count(1)
    for text in timeline.locator("li .words").all_inner_texts():
        assert not LEAK.search(text), text
    page.locator("#panel-timeline").screenshot(
        path=screenshot_dir(tmp_path) / f"timeline-{lang[:2]}.png"
    )

    # A link names the instruction in words and leads to its row, which leads to the account.
    link = done.locator(".words a[href^='#instruction-']")
    expect(link).to_contain_text("CCB")
    link.click()
    target = page.locator("#instructions tr:target")
    expect(target).to_be_visible()
    target.locator("a[href^='#account-']").click()
    expect(page.locator("#trail tr.account:target")).to_have_attribute("data-level", "1")

    # The filter shows one group of events at a time, without a reload.
    page.evaluate("window.notReloaded = true")
    page.locator(".tl-filter .chip", has_text=words["instructions"]).click()
    shown = timeline.locator("li:visible")
    expect(shown.first).to_be_visible()
    assert set(shown.evaluate_all("items => items.map(i => i.dataset.group)")) == {"instruction"}
    expect(timeline.locator("li[data-kind='case.created']")).to_be_hidden()
    page.locator(".tl-filter .chip", has_text=words["all"]).click()
    expect(timeline.locator("li[data-kind='case.created']")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


@pytest.mark.parametrize("lang", LANGS)
def test_the_actions_menu_offers_what_the_stop_payment_allows_and_renews_it_without_a_document(
    page: Page, staff: Staff, case_stack: Stack, lang: str, tmp_path: Path
) -> None:
    words = WORDS[lang]
    case_no = stopped_case(case_stack, staff)
    open_case(page, staff, lang, case_no)
    row = suspect_row(page)
    expect(page.locator("#trail tr.account[data-level='0'] details.actions")).to_have_count(0)
    row.locator("details.actions summary").click()
    # A query sent from elsewhere re-renders the row (no second query offered while it is
    # open): the menu the supervisor opened stays open.
    number = row.locator(".mono").inner_text()
    with case_stack.api(staff.boss_token) as boss:
        asked = boss.post(
            f"/api/v1/cases/{case_no}/queries", json={"institution": "CCB", "account_no": number}
        )
        assert asked.status_code == 201, asked.text
    expect(page.locator("#timeline li[data-kind='trace.query_requested']")).to_have_count(1)
    expect(page.locator("#timeline li[data-kind='instruction.done']")).to_have_count(3)
    expect(row.locator("details.actions")).to_have_attribute("open", "")
    buttons = row.locator("details.actions button")
    expect(buttons).to_have_text(
        [words["freeze"], words["renew"], words["query"], words["release"]]
    )
    renew = row.locator("form[data-action='renew']")
    expect(renew.locator("input[name='document_no']")).to_have_count(0)
    release = row.locator("form[data-action='release'] button")
    expect(release).to_have_class(re.compile(r"\bdanger\b"))
    freeze_colour = row.locator("form[data-action='freeze'] button").evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    assert release.evaluate("b => getComputedStyle(b).backgroundColor") != freeze_colour
    page.locator("#trail").screenshot(
        path=screenshot_dir(tmp_path) / f"case-actions-{lang[:2]}.png"
    )
    page.screenshot(path=screenshot_dir(tmp_path) / f"case-page-{lang[:2]}.png", full_page=True)

    # The server takes what the menu offers; then the menu no longer offers a third stop.
    # The timeline's filter, chosen before, holds through the stream's re-renders.
    page.locator(".tl-filter .chip", has_text=words["instructions"]).click()
    renew.locator("button").click()  # its ✓ may be gone at once: the stream re-renders the row
    renewal = page.locator("#timeline li[data-kind='hold.renewal_requested']")
    expect(renewal).to_have_count(1, timeout=20_000)
    expect(renewal).to_be_hidden()
    row = page.locator("#trail tr.account[data-level='1']")
    expect(row.locator("form[data-action='renew']")).to_have_count(0, timeout=30_000)
    expect(row.locator("form[data-action='release']")).to_have_count(1, timeout=30_000)
    expect(page.locator(".tl-filter .chip[aria-pressed='true']")).to_have_text(
        words["instructions"]
    )
    page.locator(".tl-filter .chip", has_text=words["all"]).click()
    expect(renewal).to_contain_text(words["renewed"])


def test_the_trail_of_157_accounts_has_no_overlapping_labels(
    page: Page, staff: Staff, case_stack: Stack, tmp_path: Path
) -> None:
    case_no = submit(
        case_stack, staff, fanout_case(uuid.uuid4().int % 10**6, dt.datetime.now(dt.UTC))
    )
    open_case(page, staff, "en", case_no)
    expect(page.locator("#trail tr.account")).to_have_count(158)
    texts = page.locator("#trail-chart svg text")
    expect(texts).to_have_count(158, timeout=30_000)
    boxes = json.loads(
        page.evaluate("""() => JSON.stringify([...document
        .querySelectorAll('#trail-chart svg text')].map(t => {
            const r = t.getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom, t.textContent];
        }))""")
    )
    assert all(b[2] > b[0] and b[3] > b[1] for b in boxes)
    overlaps = [
        (a[4], b[4])
        for n, a in enumerate(boxes)
        for b in boxes[n + 1 :]
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]
    assert not overlaps, overlaps[:5]
    assert any("¥" in b[4] for b in boxes), "the amounts are on the labels"
    page.locator("#trail-chart").screenshot(path=screenshot_dir(tmp_path) / "trail-157.png")


@pytest.fixture(scope="module")
def scenario_4(case_stack: Stack, staff: Staff) -> str:
    """Scenario 4's case, once for both languages (its cards can be stopped by one case only):
    level 1 and 2 stopped, the level-3 card beyond this stack's depth of 2."""
    with case_stack.simulator() as sim:
        assert sim.post("/admin/reset").status_code == 200
        answer = sim.post(
            "/admin/scenario",
            headers={"content-type": "application/yaml"},
            content=SCENARIO_4.read_bytes(),
        )
        assert answer.status_code == 200, answer.text
    to = {"institution": "CCB", "account_no": "6217000201234567897", "holder_name": "刘某"}
    transfer = transfer_payload(to=to, amount="580000.00", occurred_at="2026-11-22T09:20:00+08:00")
    return submit(case_stack, staff, case_payload(transfers=[transfer]))


@pytest.mark.parametrize("lang", LANGS)
def test_where_the_trail_stops_being_followed_reads_in_words_and_links_to_the_account(
    page: Page, staff: Staff, scenario_4: str, lang: str, tmp_path: Path
) -> None:
    words = WORDS[lang]
    open_case(page, staff, lang, scenario_4)
    timeline = page.locator("#timeline")
    beyond = timeline.locator("li[data-kind='trace.depth_limit']")
    expect(beyond).to_contain_text(words["beyond"], timeout=30_000)
    expect(timeline.locator("li[data-kind='trace.followed']").first).to_contain_text(
        words["followed"]
    )
    page.locator("#panel-timeline").screenshot(
        path=screenshot_dir(tmp_path) / f"timeline-scenario-4-{lang[:2]}.png"
    )
    beyond.locator("a[href^='#account-']").click()
    level3 = page.locator("#trail tr.account:target")
    expect(level3).to_have_attribute("data-level", "3")
    # No stop-payment of this case there: it can be frozen outright or queried, nothing else.
    level3.locator("details.actions summary").click()
    expect(level3.locator("details.actions button")).to_have_text(
        [words["outright"], words["query"]]
    )
