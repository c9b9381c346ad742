"""The intake form's checks in Chromium, in both languages (issue 17, point 5): institutions
picked by alias from the keyboard, every error in one submit with the focus on the first, the
"no phone" confirmation, amounts read back, drafts in the unit's time, error marks kept over a
reload, and columns that cut nothing at 1280 and 1440 px."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from app.intake.parsing import format_local
from tests.factories import card_no, fresh_card_no
from tests.pages.conftest import make_login
from tests.pages.evidence import screenshot_dir
from tests.pages.keyboard import Keyboard, break_luhn, log_in

pytestmark = pytest.mark.slow

LANGS = ["zh-CN", "en"]
ZONE = ZoneInfo("Asia/Shanghai")
WORDS = {
    "zh-CN": {"phone": "Alt+P", "fraud": "诈骗类型", "amount": "金额", "fraud_value": "客服"},
    "en": {"phone": "Alt+P", "fraud": "fraud type", "amount": "amount", "fraud_value": "customer"},
}


def start(page: Page, sessions: sessionmaker[Session], lang: str) -> Keyboard:
    login = make_login(sessions, language=lang)
    keys = Keyboard(page)
    log_in(page, keys, username=login.username, password=login.password)
    return keys


def named(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f"[name='{name}']")


def err(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f"[id='err-{name}']")


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.name || document.activeElement.id"))


def fill_valid(page: Page, *, phone: str = "13800138000") -> None:
    """A whole report, as typed, that the intake takes."""
    named(page, "victim.name").fill("陈女士")
    named(page, "victim.id_no").fill("11010519491231002X")
    named(page, "victim.phone").fill(phone)
    named(page, "transfers.0.from.account_no").fill(card_no("ICBC", 900_002))
    named(page, "transfers.0.to.account_no").fill(fresh_card_no("CCB"))
    named(page, "transfers.0.to.holder_name").fill("刘某")
    named(page, "transfers.0.amount").fill("4.5万")
    named(page, "transfers.0.occurred_at").fill("20 min ago")
    named(page, "fraud_type").fill("impersonate_customer_service")


@pytest.mark.parametrize("lang", LANGS)
def test_an_institution_is_picked_by_alias_from_the_keyboard(
    page: Page, form_sessions: sessionmaker[Session], lang: str
) -> None:
    start(page, form_sessions, lang)
    to_inst = named(page, "transfers.0.to.institution")
    to_inst.focus()
    page.keyboard.type("建行")
    listbox = page.locator("#inst-list")
    expect(listbox).to_be_visible()
    expect(to_inst).to_have_attribute("aria-expanded", "true")
    expect(listbox.locator("[role=option]").first).to_contain_text("CCB")
    page.keyboard.press("ArrowDown")
    expect(to_inst).to_have_attribute("aria-activedescendant", "inst-opt-0")
    page.keyboard.press("Enter")
    expect(to_inst).to_have_value("CCB")
    expect(listbox).to_be_hidden()
    assert focused(page) == "transfers.0.to.institution", "Enter picked; it added no row"
    expect(page.locator("tr.transfer")).to_have_count(1)
    # Typed in full and left: the alias becomes its code.
    from_inst = named(page, "transfers.0.from.institution")
    from_inst.focus()
    page.keyboard.type("支付宝")
    page.keyboard.press("Tab")
    expect(from_inst).to_have_value("ALIPAY")
    # Arrow keys walk the list: 微 matches WeChat's aliases.
    to_inst.fill("")
    to_inst.focus()
    page.keyboard.type("微信")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(to_inst).to_have_value("TENPAY")
    name = "财付通" if lang == "zh-CN" else "Tenpay"
    expect(to_inst).to_have_attribute("title", re.compile(name))


@pytest.mark.parametrize("lang", LANGS)
def test_one_submit_shows_every_error_and_focuses_the_first(
    page: Page, form_sessions: sessionmaker[Session], lang: str, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1440, "height": 1000})
    keys = start(page, form_sessions, lang)
    named(page, "victim.id_no").fill("110105194912310021")  # a wrong check digit
    named(page, "transfers.0.from.account_no").fill(card_no("ICBC", 900_003))
    named(page, "transfers.0.to.account_no").fill(break_luhn(fresh_card_no("CCB")))
    named(page, "transfers.0.amount").fill("lots")  # unreadable: must not hold the rest back
    named(page, "transfers.0.occurred_at").fill("20 min ago")
    named(page, "narrative").focus()
    keys.press("Alt+s")
    wanted = [
        "victim.name",
        "victim.id_no",
        "victim.phone",
        "transfers.0.to.account_no",
        "transfers.0.amount",
        "fraud_type",
    ]
    for name in wanted:
        expect(err(page, name)).not_to_be_empty()
        expect(named(page, name)).to_have_attribute("aria-invalid", "true")
    assert focused(page) == "victim.name", "the first error on the page, top to bottom"
    expect(page.locator("#form-alert")).to_be_visible()
    assert page.url.endswith("/intake")
    shot = screenshot_dir(tmp_path) / f"intake-errors-{lang.split('-')[0]}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=True)


@pytest.mark.parametrize("lang", LANGS)
def test_a_blank_phone_is_confirmed_with_one_key(
    page: Page, form_sessions: sessionmaker[Session], lang: str
) -> None:
    keys = start(page, form_sessions, lang)
    fill_valid(page, phone="")
    named(page, "narrative").focus()
    keys.press("Alt+s")
    expect(err(page, "victim.phone")).to_contain_text("Alt+P")
    assert focused(page) == "victim.phone"
    keys.press("Alt+p")
    expect(page.locator("[name='victim.no_phone']")).to_be_checked()
    expect(err(page, "victim.phone")).to_be_empty()
    keys.press("Alt+s")
    page.wait_for_url(re.compile(r"/intake/cases/ZF-"))


@pytest.mark.parametrize("lang", LANGS)
def test_each_amount_is_read_back_as_typed(
    page: Page, form_sessions: sessionmaker[Session], lang: str
) -> None:
    start(page, form_sessions, lang)
    amount = named(page, "transfers.0.amount")
    amount.focus()
    page.keyboard.type("4.5")
    expect(page.locator("[id='echo-transfers.0.amount']")).to_have_text("¥4.50")
    page.keyboard.type("万")
    expect(page.locator("[id='echo-transfers.0.amount']")).to_have_text("¥45,000.00")
    page.keyboard.press("Enter")  # the next row, whose amount is read back on its own
    named(page, "transfers.1.amount").fill("1.2亿")
    named(page, "transfers.1.amount").dispatch_event("input")
    expect(page.locator("[id='echo-transfers.1.amount']")).to_have_text("¥120,000,000.00")
    named(page, "transfers.1.amount").fill("lots")
    named(page, "transfers.1.amount").dispatch_event("input")
    expect(page.locator("[id='echo-transfers.1.amount']")).to_be_empty()


@pytest.mark.parametrize("lang", LANGS)
def test_drafts_are_listed_in_the_units_time(
    page: Page, form_sessions: sessionmaker[Session], lang: str
) -> None:
    start(page, form_sessions, lang)
    page.keyboard.type("王先生")
    expect(page.locator("#save-state.ok")).to_be_visible(timeout=20_000)
    now = dt.datetime.now(dt.UTC)
    page.goto("/intake?new=1")
    listed = page.locator(".drafts li", has_text="王先生").locator(".draft-time")
    shown = dt.datetime.strptime(listed.inner_text(), "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    expected = format_local(now, ZONE)
    assert abs(shown - now) < dt.timedelta(minutes=2), (listed.inner_text(), expected)
    expect(page.locator(".drafts")).not_to_contain_text("UTC")


@pytest.mark.parametrize("lang", LANGS)
def test_error_marks_come_back_after_a_reload(
    page: Page, form_sessions: sessionmaker[Session], lang: str
) -> None:
    keys = start(page, form_sessions, lang)
    fill_valid(page)
    named(page, "victim.name").fill("")
    named(page, "transfers.0.amount").fill("lots")
    named(page, "narrative").focus()
    keys.press("Alt+s")
    expect(err(page, "transfers.0.amount")).not_to_be_empty()
    expect(page.locator("#save-state.ok")).to_be_visible()
    page.reload()
    expect(named(page, "transfers.0.amount")).to_have_value("lots")
    for name in ("victim.name", "transfers.0.amount"):
        expect(err(page, name)).not_to_be_empty()
        expect(named(page, name)).to_have_attribute("aria-invalid", "true")
    expect(named(page, "victim.name")).to_be_focused()


# How wide each text is in its own font, against the room its box gives it.
CUT = r"""() => {
  const ctx = document.createElement("canvas").getContext("2d");
  const cut = [];
  const room = (el) => {
    const s = getComputedStyle(el);
    return el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  };
  const width = (el, text) => {
    ctx.font = getComputedStyle(el).font;
    return ctx.measureText(text).width;
  };
  const boxes = ["th", "input", "select", "output"].map((t) => `table.transfers ${t}`);
  document.querySelectorAll(boxes.join(",")).forEach((el) => {
    if (!el.offsetParent) return;
    // A heading may wrap onto two lines; only a word wider than its column is cut.
    const texts = el.tagName === "SELECT" ? [el.options[el.selectedIndex].text]
      : el.tagName === "INPUT" ? [el.value, el.placeholder]
      : el.tagName === "TH" ? el.textContent.trim().split(/\s+/) : [el.textContent];
    const spare = el.tagName === "SELECT" ? 18 : 0; // the select's arrow
    const name = el.name || el.id || el.textContent;
    for (const text of texts) {
      const [need, has] = [width(el, text), room(el) - spare];
      if (text && need > has + 0.5) cut.push(`${name}: ${text} (${need} > ${has})`);
    }
    if (el.scrollWidth > el.clientWidth) cut.push(`${name}: scrolls`);
  });
  return cut;
}"""


@pytest.mark.parametrize("width", [1280, 1440])
@pytest.mark.parametrize("lang", LANGS)
def test_nothing_in_the_transfer_columns_is_cut(
    page: Page, form_sessions: sessionmaker[Session], lang: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    start(page, form_sessions, lang)
    named(page, "transfers.0.from.account_no").fill(card_no("ICBC", 900_004))
    named(page, "transfers.0.from.institution").fill("TRANSFARPAY")
    named(page, "transfers.0.to.account_no").fill(card_no("CCB", 999_999_999_999))
    named(page, "transfers.0.to.institution").fill("MEITUANPAY")
    named(page, "transfers.0.amount").fill("100,000,000.00")
    named(page, "transfers.0.amount").dispatch_event("input")
    named(page, "transfers.0.to.holder_name").fill("欧阳某某")
    named(page, "transfers.0.occurred_at").fill("2026-11-22 14:05")
    named(page, "transfers.0.channel").select_option("mobile_banking")
    page.keyboard.press("Alt+n")  # a blank row: its placeholders must fit too
    cut = page.evaluate(CUT)
    assert cut == [], "\n".join(cut)
