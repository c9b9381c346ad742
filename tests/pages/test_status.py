"""The call-taker's status page and "my cases" in Chromium, in each language, against the real
processes: every transfer with its account's fate, a mismatch corrected in place with Enter,
and "my cases" one keystroke away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import User
from app.db import transaction
from tests.e2e.cases import account_at
from tests.e2e.stack import Stack
from tests.factories import bearer, case_payload, fresh_card_no, transfer_payload
from tests.pages.conftest import Login, make_login
from tests.pages.evidence import screenshot_dir

pytestmark = pytest.mark.slow

WORDS = {
    "zh-CN": {"held": "他案已控制", "holds": "控制 ¥45,000.00", "corrected": "户名改为 张伟"},
    "en": {
        "held": "held by another case",
        "holds": "holds ¥45,000.00",
        "corrected": "holder name corrected to 张伟",
    },
}


def _report(stack: Stack, token: dict[str, str], transfers: list[dict[str, Any]]) -> str:
    with httpx.Client(base_url=stack.api_url, headers=token, timeout=30) as api:
        answer = api.post("/api/v1/cases", json=case_payload(transfers=transfers))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["case_no"])


def _token(sessions: sessionmaker[Session], login: Login) -> dict[str, str]:
    with transaction(sessions) as db:
        return bearer(db, db.get_one(User, login.user_id))


def _open(page: Page, login: Login, path: str) -> None:
    """Log in and land on `path`, 1440 px wide."""
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/login?next={path}")
    page.fill("#username", login.username)
    page.fill("#password", login.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{path}")


def shoot(page: Page, path: Path) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_both_transfers_show_the_second_held_by_the_other_case_and_my_cases_is_alt_m(
    page: Page,
    form_stack: Stack,
    form_sessions: sessionmaker[Session],
    tmp_path: Path,
    lang: str,
) -> None:
    login = make_login(form_sessions, language=lang)
    token = _token(form_sessions, login)
    shared = {"institution": "CCB", "account_no": fresh_card_no("CCB"), "holder_name": "刘某"}
    own = {"institution": "CMB", "account_no": fresh_card_no("CMB"), "holder_name": "王某"}
    first = _report(form_stack, token, [transfer_payload(to=shared, amount="45000.00")])
    second = _report(
        form_stack,
        token,
        [
            transfer_payload(to=own, amount="45000.00", minutes_ago=20),
            transfer_payload(to=shared, amount="45000.00", minutes_ago=10),
        ],
    )
    _open(page, login, f"/intake/cases/{second}")
    rows = page.locator("#transfers tr.transfer")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-fate", "stopped", timeout=30_000)
    held = rows.nth(1)
    expect(held).to_have_attribute("data-fate", "held_elsewhere")
    expect(held).to_contain_text("¥45,000.00")
    expect(held).to_contain_text(WORDS[lang]["held"])
    expect(held).to_contain_text(first)
    expect(held).to_contain_text(WORDS[lang]["holds"])
    expect(page.locator("#total-held-elsewhere")).to_have_text("¥45,000.00")
    expect(page.locator("#total-stopped")).to_have_text("¥45,000.00")
    expect(page.locator("#victim-name")).to_have_text("陈**")
    shoot(page, screenshot_dir(tmp_path) / f"status-held-elsewhere-{lang.split('-')[0]}.png")

    page.keyboard.press("Alt+m")  # "my cases", from anywhere on the page
    page.wait_for_url("**/intake/cases")
    listed = page.locator("#my-cases tbody tr")
    expect(listed.first).to_have_attribute("data-case", second)  # newest first
    expect(page.locator(f"#my-cases tr[data-case='{first}']")).to_be_visible()
    shoot(page, screenshot_dir(tmp_path) / f"my-cases-{lang.split('-')[0]}.png")
    page.locator(f"#my-cases a[href='/intake/cases/{first}']").click()
    page.wait_for_url(f"**/intake/cases/{first}")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_mismatch_is_corrected_in_place_with_enter(
    page: Page,
    form_stack: Stack,
    form_sessions: sessionmaker[Session],
    tmp_path: Path,
    lang: str,
) -> None:
    login = make_login(form_sessions, language=lang)
    on_file = account_at("CIB", holder="张伟")
    with form_stack.simulator() as sim:
        loaded = sim.post(
            "/admin/scenario",
            json={"accounts": [{**on_file, "balance": "45000.00"}]},
        )
        assert loaded.status_code == 200, loaded.text
    bounced_to = {**on_file, "holder_name": "张卫"}
    case_no = _report(
        form_stack,
        _token(form_sessions, login),
        [transfer_payload(to=bounced_to, amount="45000.00")],
    )
    _open(page, login, f"/intake/cases/{case_no}")
    row = page.locator("tr.mismatch")
    expect(row).to_have_count(1, timeout=30_000)
    expect(row.locator(".mismatch-what")).to_have_attribute("data-field", "holder_name")
    expect(row.locator(".sent-value")).to_have_text("张卫")
    field = row.locator("form.resend input")
    expect(field).to_have_value("张卫")
    expect(field).to_be_focused()  # nothing else had the focus
    page.keyboard.type("张伟")  # the value sent is selected: typing replaces it
    shoot(page, screenshot_dir(tmp_path) / f"status-mismatch-bounced-{lang.split('-')[0]}.png")
    original = row.get_attribute("id")
    assert original is not None
    page.keyboard.press("Enter")

    resend = page.locator(f"tr#{original} + tr[data-replaces]")  # right under the original
    expect(resend).to_have_count(1)
    expect(resend).to_have_attribute("data-outcome", "stopped_full", timeout=30_000)
    expect(resend).to_contain_text(WORDS[lang]["corrected"])
    expect(page.locator("tr.mismatch")).to_have_count(0)
    expect(page.locator(f"tr#{original} .sent-value")).to_have_text("张卫")  # what failed, kept
    expect(page.locator("#case-status")).to_have_attribute("data-status", "stopped")
    expect(page.locator("#transfers tr.transfer")).to_have_attribute("data-fate", "stopped")
    shoot(page, screenshot_dir(tmp_path) / f"status-mismatch-in-place-{lang.split('-')[0]}.png")
