"""The dashboard in the viewer's language, its chart, and a live re-render that keeps what a
supervisor is typing: Chromium against the real processes, in both languages."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit, User
from app.db import transaction, utcnow
from app.dispatch.models import Instruction
from tests.e2e.stack import Stack, wait_for
from tests.factories import fresh_card_no, make_user, transfer_payload
from tests.pages.test_dashboard import (  # the module's stack, browser page and people
    Staff,
    dash_sessions,
    dash_stack,
    log_in,
    one_card,
    page,
    sim,
    staff,
    submit,
)

__all__ = ["dash_sessions", "dash_stack", "page", "sim", "staff"]  # fixtures, used by name

pytestmark = pytest.mark.slow
LANGS = ["zh-CN", "en"]


@pytest.fixture(params=LANGS)
def boss(request: pytest.FixtureRequest, dash_sessions: sessionmaker[Session], staff: Staff) -> str:
    """A supervisor of the staff's unit who reads the pages in the language of the param."""
    with transaction(dash_sessions) as db:
        taker = db.scalars(select(User).where(User.username == staff.call_taker)).one()
        unit = db.get_one(Unit, taker.unit_id)
        return make_user(db, role=Role.supervisor, unit=unit, language=request.param).username


def _lang(page: Page) -> str:
    return page.locator("html").get_attribute("lang") or ""


def _stopped(stack: Stack, staff: Staff, case_no: str) -> dict[str, Any]:
    with stack.api(staff.boss_token) as api:
        return wait_for(
            lambda: next(
                (
                    i
                    for i in api.get(f"/api/v1/cases/{case_no}").json()["instructions"]
                    if i["kind"] == "stop_payment" and i["outcome"] == "stopped_full"
                ),
                None,
            ),
            timeout=30,
            what="the stop-payment",
        )


@pytest.fixture
def clock(dash_stack: Stack, staff: Staff) -> Iterator[httpx.Client]:
    with dash_stack.api(staff.admin_token) as admin:
        yield admin
        assert admin.delete("/api/v1/admin/clock").status_code == 200


@pytest.mark.usefixtures("sim")
def test_typing_in_a_panel_survives_its_live_re_render(
    page: Page, staff: Staff, boss: str, dash_stack: Stack, clock: httpx.Client
) -> None:
    card = fresh_card_no("CCB")
    to = {"institution": "CCB", "account_no": card, "holder_name": "刘某"}
    case_no = submit(dash_stack, staff, [transfer_payload(to=to, amount="42000.00")])
    expires = dt.datetime.fromisoformat(_stopped(dash_stack, staff, case_no)["expires_at"])
    at = (expires - dt.timedelta(hours=5)).isoformat()
    assert clock.put("/api/v1/admin/clock", json={"at": at}).status_code == 200
    log_in(page, boss)
    due = page.locator(f"#deadlines li.lapsing[data-account='{card}']")
    when = due.locator(".when")
    expect(when).to_contain_text("5.0 h")
    field = due.locator("input[name='document_no']")
    field.click()
    field.press_sequentially("穗公冻字〔2026〕")

    # The data changes under the supervisor: two hours pass on the legal clock and a new
    # case comes in; the stream re-renders the deadlines panel and the queue.
    at = (expires - dt.timedelta(hours=3)).isoformat()
    assert clock.put("/api/v1/admin/clock", json={"at": at}).status_code == 200
    newer = submit(dash_stack, staff, [transfer_payload()])
    expect(page.locator(f"#queue tr[data-case='{newer}']")).to_be_visible()
    expect(when).to_contain_text("3.0 h")  # the rest of the panel did update
    expect(field).to_have_value("穗公冻字〔2026〕")
    assert page.evaluate("document.activeElement.name") == "document_no"
    page.keyboard.type("78号")  # the focus never left: the keys still land in the field
    expect(field).to_have_value("穗公冻字〔2026〕78号")
    page.keyboard.press("Enter")
    expect(due).to_have_count(0, timeout=20_000)  # the freeze follows the stop
    with dash_stack.api(staff.boss_token) as api:
        case = api.get(f"/api/v1/cases/{case_no}").json()
    [freeze] = [i for i in case["instructions"] if i["kind"] == "freeze"]
    assert freeze["document_no"] == "穗公冻字〔2026〕78号"


WORDS = {
    "zh-CN": ("农业银行反诈专席", "机构系统故障（服务器错误）", "中国农业银行"),
    "en": (
        "ABC anti-fraud desk",
        "The institution's system failed (server error)",
        "Agricultural Bank of China",
    ),
}


@pytest.mark.usefixtures("sim")
def test_an_escalation_reads_in_the_viewers_language_with_the_raw_error_in_its_tooltip(
    page: Page, staff: Staff, boss: str, dash_stack: Stack, dash_sessions: sessionmaker[Session]
) -> None:
    to = {"institution": "ABC", "account_no": fresh_card_no("ABC"), "holder_name": "刘某"}
    case_no = submit(dash_stack, staff, [transfer_payload(to=to, amount="455400.00")])
    stop = _stopped(dash_stack, staff, case_no)
    with transaction(dash_sessions) as db:  # as the worker leaves it after its last attempt
        db.execute(
            update(Instruction)
            .where(Instruction.id == stop["id"])
            .values(
                state="escalated",
                escalated_at=utcnow(),
                last_error="ABC: answered 500",
                last_failure="server_error",
            )
        )
    log_in(page, boss)
    lang = _lang(page)
    desk, failure, bank = WORDS[lang]
    item = page.locator(f"#escalations li[data-instruction='{stop['id']}']")
    expect(item.locator(".desk")).to_have_text(desk)
    expect(item.locator(".failure")).to_have_text(failure)
    expect(item.locator(".failure")).to_have_attribute("title", "ABC: answered 500")
    expect(item.locator(".what")).to_contain_text(bank)
    expect(item).to_contain_text("¥455,400.00")
    shown = page.locator("#dashboard").inner_text()
    assert "answered 500" not in shown
    other = WORDS["en" if lang == "zh-CN" else "zh-CN"]
    assert other[0] not in shown
    assert other[1] not in shown
    row = page.locator(f"#queue tr[data-case='{case_no}']")
    expect(row).to_contain_text(re.compile(r"¥[\d,]+\.\d\d / ¥455,400\.00"))


AXIS = {"zh-CN": r"中位办结用时（(毫秒|秒)）", "en": r"Median completion \((ms|s)\)"}
EMPTY = {"zh-CN": "此时间窗内暂无办结的指令", "en": "No instruction completed in this window"}
TEXT_BOXES = """() => [...document.querySelectorAll('#completion-chart svg text')]
    .filter((t) => t.textContent.trim() && getComputedStyle(t).opacity !== '0')
    .map((t) => { const r = t.getBoundingClientRect();
                  return [t.textContent, r.left, r.top, r.right, r.bottom]; })"""


def _overlaps(boxes: list[list[Any]]) -> list[tuple[str, str]]:
    found = []
    for i, (a, al, at, ar, ab) in enumerate(boxes):
        for b, bl, bt, br, bb in boxes[i + 1 :]:
            if min(ar, br) - max(al, bl) > 1 and min(ab, bb) - max(at, bt) > 1:
                found.append((a, b))
    return found


@pytest.mark.usefixtures("sim")
def test_the_completion_chart_has_an_empty_state_then_labels_that_read_and_do_not_overlap(
    page: Page,
    staff: Staff,
    boss: str,
    dash_stack: Stack,
    dash_sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    with transaction(dash_sessions) as db:
        lang = db.scalars(select(User.language).where(User.username == boss)).one()
        loner = make_user(db, role=Role.supervisor, language=lang).username  # a unit of its own
    log_in(page, loner)
    expect(page.locator("#completion-empty")).to_have_text(EMPTY[lang])
    expect(page.locator("#completion-chart")).to_be_hidden()

    _, transfers = one_card()
    _stopped(dash_stack, staff, submit(dash_stack, staff, transfers))
    page.context.clear_cookies()
    log_in(page, boss)
    chart = page.locator("#completion-chart")
    expect(chart).to_be_visible()
    expect(page.locator("#completion-empty")).to_be_hidden()
    expect(chart.locator("svg text").first).to_be_visible()
    page.wait_for_function("document.querySelectorAll('#completion-chart svg text').length > 3")
    texts = [t[0] for t in page.evaluate(TEXT_BOXES)]
    assert any(re.fullmatch(AXIS[lang], t) for t in texts), texts
    times = [t for t in texts if re.fullmatch(r"\d\d:\d\d", t)]
    assert len(times) >= 2, texts  # a time axis that reads, not a bare "5"
    assert len(set(times)) == len(times), times  # and that moves along
    assert _overlaps(page.evaluate(TEXT_BOXES)) == []
    chart.screenshot(path=tmp_path / f"chart-{lang}.png")  # to look at
    with dash_stack.api(staff.boss_token) as api:
        series = api.get("/api/v1/dashboard/completion").json()
    assert series["hours"] == 1  # the data are minutes old: not drawn across six hours
