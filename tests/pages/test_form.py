"""The call-taker's form in Chromium, by keyboard only, against the real processes."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import Case, Transfer
from tests.factories import card_no
from tests.pages.conftest import Login
from tests.pages.keyboard import Keyboard, bank_cards, break_luhn, log_in

pytestmark = pytest.mark.slow

VICTIM_CARD = card_no("ICBC", 900_001)


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.name || document.activeElement.id"))


def enter_victim(keys: Keyboard) -> None:
    """From the victim's name (focused on arrival) to the first transfer's paying account."""
    keys.type("张先生")
    keys.tab()
    keys.type("11010519491231002X")
    keys.tab()
    keys.type("13800138000")
    keys.tab(3)  # enterprise flag, enterprise name, then the first transfer


def enter_transfer(keys: Keyboard, *, to: str, holder: str, amount: str, time: str) -> None:
    """A transfer row from its receiving account (the paying one is carried forward)."""
    keys.type(to)
    keys.tab(2)  # past the institution the card's BIN filled in
    keys.type(holder)
    keys.tab()
    keys.type(amount)
    keys.tab()
    keys.type(time)


def test_scenario_2_first_level_by_keyboard(
    page: Page, login: Login, form_sessions: sessionmaker[Session]
) -> None:
    keys = Keyboard(page)
    log_in(page, keys, username=login.username, password=login.password)
    enter_victim(keys)
    assert focused(page) == "transfers.0.from.account_no"
    keys.type(VICTIM_CARD)
    keys.tab(2)
    expect(page.locator("[name='transfers.0.from.institution']")).to_have_value("ICBC")

    cards = bank_cards(10, seed=uuid.uuid4().int)
    amounts = [
        "98,000",
        "9.5万",
        "87000",
        "120,500",
        "6.2万",
        "91000",
        "103,000",
        "7.75万",
        "88000",
        "99,999.50",
    ]
    for i, ((bank, card), amount) in enumerate(zip(cards, amounts, strict=True)):
        if i == 3:
            # A typo in the check digit: the error appears on leaving the field, then is fixed.
            keys.type(break_luhn(card))
            keys.tab()
            error = page.locator("[id='err-transfers.3.to.account_no']")
            expect(error).to_contain_text("check digit")
            keys.press("Shift+Tab")
            keys.press("Control+a")
            keys.type(card)
            keys.tab()
            expect(error).to_be_empty()
            keys.press("Shift+Tab")
            keys.press("End")
            assert focused(page) == "transfers.3.to.account_no"
            keys.tab(2)
            keys.type("刷单平台")
            keys.tab()
            keys.type(amount)
            keys.tab()
            keys.type(f"{40 - i}分钟前")
        else:
            enter_transfer(
                keys, to=card, holder="刷单平台", amount=amount, time=f"{40 - i} min ago"
            )
        expect(page.locator(f"[name='transfers.{i}.to.institution']")).to_have_value(bank)
        if i < 9:
            keys.press("Enter")  # the next row, focused on its receiving account
            assert focused(page) == f"transfers.{i + 1}.to.account_no"
        if i == 5:
            # A reload in the middle of the call: everything typed is still there.
            page.wait_for_selector("#save-state.ok")
            page.reload()
            expect(page.locator("[name='transfers.5.amount']")).to_have_value("91000")
            expect(page.locator("[name='victim.name']")).to_have_value("张先生")
            keys.press("Alt+n")  # back to the empty row at the end, not a second one
            assert focused(page) == "transfers.6.to.account_no"
            expect(page.locator("tr.transfer")).to_have_count(7)

    expect(page.locator("#total")).to_have_text(re.compile(r"921,999\.50"))
    keys.tab(3)  # channel, reference, then the first contact's kind
    keys.tab()
    keys.type("+85261234567")
    keys.tab()
    keys.type("刷单返利")
    keys.tab()
    keys.type("通过兼职群刷单返利，先小额返现后要求大额垫付。")

    # Two quick submits: one case.
    keys.press("Alt+s")
    keys.press("Alt+s")
    page.wait_for_url(re.compile(r"/intake/cases/ZF-"))
    case_no = page.url.rsplit("/", 1)[1]
    with form_sessions() as db:
        cases = db.scalar(
            select(func.count()).select_from(Case).where(Case.call_taker_id == login.user_id)
        )
        assert cases == 1
        case = db.scalars(select(Case).where(Case.case_no == case_no)).one()
        assert str(case.total_amount) == "921999.50"
        assert case.fraud_type == "brushing_rebate"
        transfers = db.scalar(select(func.count()).where(Transfer.case_id == case.id))
        assert transfers == 10

    # The status page follows the instructions to their outcome by itself (SSE).
    rows = page.locator("tr[data-state]")
    expect(rows).to_have_count(11)  # ten stop-payments and the platform registration
    expect(page.locator("tr[data-state]:not([data-state='done'])")).to_have_count(0, timeout=30_000)
    expect(page.locator("#case-status")).to_have_attribute("data-status", "stopped")
    expect(page.locator("#live-state")).to_contain_text("Every instruction has an outcome")
    # The draft went with the submit.
    drafts = page.evaluate("fetch('/api/v1/drafts').then(r => r.json())")
    assert drafts == []
