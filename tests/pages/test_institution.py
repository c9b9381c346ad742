"""An institution's own page in Chromium against the real API process, in each language: its
open instructions against the SLA, outcomes, refusals with reasons, deliveries with our
answers and its scorecard; and rotating its callback secret (shown once)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Scope, User
from app.db import make_engine, make_sessionmaker, transaction
from app.dispatch.models import Instruction
from app.institutions.models import Institution
from tests.callbacks.signing import outcome, signed
from tests.conftest import migrated_database
from tests.e2e.stack import Stack, running_stack
from tests.factories import (
    PASSWORD,
    bearer,
    instructions_of,
    make_case,
    make_user,
    secret_rotations,
)
from tests.pages.evidence import screenshot_dir

pytestmark = pytest.mark.slow

BROKER = "redis://127.0.0.1:6379/13"
QUEUE = f"bank-{uuid.uuid4().hex[:12]}"
CODE = "CCB"
WORDS = {
    "zh-CN": {
        "title": "中国建设银行",
        "over": "超时",
        "applied": "已采用",
        "refused": "已拒收",
        "once": "只显示这一次",
        "until": "之前仍可验证通过",
    },
    "en": {
        "title": "China Construction Bank",
        "over": "over SLA",
        "applied": "applied",
        "refused": "refused",
        "once": "shown this once",
        "until": "still verifies until",
    },
}


@dataclass(frozen=True)
class Bank:
    sessions: sessionmaker[Session]
    stack: Stack


def _ccb_stops(db: Session) -> list[Instruction]:
    """Four cases' stop-payments at CCB (the factories' second bank)."""
    ccb = db.scalars(select(Institution.id).where(Institution.code == CODE)).one()
    stops = []
    for _ in range(4):
        for i in instructions_of(db, make_case(db, transfers=2)):
            if i.kind == "stop_payment" and i.institution_id == ccb:
                stops.append(i)
    return stops


def _post(stack: Stack, body: tuple[bytes, dict[str, str]]) -> int:
    answer = httpx.post(
        f"{stack.api_url}/api/v1/callbacks/{CODE}", content=body[0], headers=body[1]
    )
    return answer.status_code


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bank]:
    """CCB with an instruction open past its SLA, one open, one answered (and delivered twice)
    and one refused; the API alone, no worker: the open ones stay open."""
    with migrated_database() as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as db:
            late, waiting, answered, wrong = _ccb_stops(db)
            late.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=12)
            bodies = [
                signed(db, CODE, outcome(answered), webhook_id="msg_ccb_0001"),
                signed(db, CODE, outcome(wrong, amount_stopped="99999999.00", balance="0.00")),
            ]
        with running_stack(
            database_url=url,
            broker_url=BROKER,
            queue=QUEUE,
            logs=tmp_path_factory.mktemp("bank-stack"),
            settings={},
            workers=(),
            services=("api",),
        ) as stack:
            assert _post(stack, bodies[0]) == 200
            assert _post(stack, bodies[0]) == 200  # again: a duplicate
            assert _post(stack, bodies[1]) == 422
            yield Bank(sessions, stack)
        engine.dispose()


@pytest.fixture
def bank_page(browser: Browser, bank: Bank) -> Iterator[Page]:
    context = browser.new_context(
        base_url=bank.stack.api_url, viewport={"width": 1480, "height": 1000}, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _log_in(page: Page, bank: Bank, lang: str) -> str:
    """Signs a new user of the institution in; its username."""
    with transaction(bank.sessions) as db:
        user = make_user(db, role=Role.institution, institution_code=CODE, language=lang)
        username = user.username
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url("**/institution")  # where an institution's user lands
    return username


def _shoot(page: Page, path: Path) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_institution_reads_its_own_page(
    bank_page: Page, bank: Bank, tmp_path: Path, lang: str
) -> None:
    page, words, tag = bank_page, WORDS[lang], lang.split("-")[0]
    _log_in(page, bank, lang)
    expect(page.locator("h1")).to_contain_text(words["title"])
    expect(page.locator("#open tbody tr")).to_have_count(3)  # the refused one is still open
    expect(page.locator("#open tr.late")).to_have_count(1)
    expect(page.locator("#open tr.late")).to_contain_text(words["over"])
    expect(page.locator("#outcomes tbody tr")).to_have_count(1)
    expect(page.locator("#refused tbody tr")).to_have_count(1)
    expect(page.locator("#refused .reasons li").first).to_contain_text("data.")
    delivered = page.locator("#deliveries tbody tr")
    expect(delivered).to_have_count(2)
    expect(delivered.filter(has_text="msg_ccb_0001")).to_contain_text(words["applied"])
    expect(delivered.filter(has_text="msg_ccb_0001")).to_contain_text("1")
    expect(page.locator("#deliveries")).to_contain_text(words["refused"])
    expect(page.locator("#scorecard")).to_be_visible()
    expect(page.locator("#overlap")).to_contain_text("24.0 h")
    _shoot(page, screenshot_dir(tmp_path) / f"institution-view-{tag}.png")
    # Nothing else is open to it: the case list and the dashboard refuse it.
    assert page.goto("/dashboard").status == 403  # type: ignore[union-attr]
    assert page.goto("/api/v1/cases").status == 403  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_institution_rotates_its_secret_and_sees_it_once(
    bank_page: Page, bank: Bank, tmp_path: Path, lang: str
) -> None:
    page, words, tag = bank_page, WORDS[lang], lang.split("-")[0]
    with transaction(bank.sessions) as db:
        old = db.scalars(select(Institution).where(Institution.code == CODE)).one().callback_secret
    _log_in(page, bank, lang)
    page.check("input[name=confirm]")
    page.click("#secret button[type=submit]")
    secret = page.locator("#new-secret-value")
    expect(secret).to_be_visible()
    shown = secret.input_value()
    assert shown.startswith("whsec_")
    assert shown != old
    expect(page.locator("#new-secret")).to_contain_text(words["once"])
    expect(page.locator("#previous-until")).to_contain_text(words["until"])
    _shoot(page, screenshot_dir(tmp_path) / f"secret-rotated-{tag}.png")
    with transaction(bank.sessions) as db:
        row = db.scalars(select(Institution).where(Institution.code == CODE)).one()
        assert (row.callback_secret, row.callback_secret_previous) == (shown, old)
        assert row.callback_secret_previous_until is not None
    # Shown once: the page read again does not show it, only that a rotation is under way.
    page.goto("/institution")
    expect(page.locator("#new-secret")).to_have_count(0)
    assert shown not in page.content()
    expect(page.locator("#rotation-state")).to_be_visible()


def test_pressing_rotate_twice_rotates_once_and_both_answers_show_the_same_secret(
    bank_page: Page, bank: Bank
) -> None:
    page = bank_page
    with transaction(bank.sessions) as db:
        old = db.scalars(select(Institution).where(Institution.code == CODE)).one().callback_secret
        before = secret_rotations(db, CODE)
    _log_in(page, bank, "en")
    form = page.locator("#secret form")
    fields = {
        name: form.locator(f"input[name={name}]").input_value()
        for name in ("csrf_token", "form_key")
    }
    # The form as the browser sends it, twice: a double press, or a resend after a lost answer.
    answers = [
        page.request.post("/institution/secret-rotations", form={**fields, "confirm": "on"})
        for _ in range(2)
    ]
    shown = []
    for answer in answers:
        assert answer.status == 200, answer.text()
        found = re.search(r'id="new-secret-value"[^>]*value="(whsec_[^"]+)"', answer.text())
        assert found is not None, answer.text()
        shown.append(found.group(1))
    assert shown[0] == shown[1] != old
    # One rotation: the secret the bank signs with is still the one that verifies beside it.
    with transaction(bank.sessions) as db:
        row = db.scalars(select(Institution).where(Institution.code == CODE)).one()
        assert (row.callback_secret, row.callback_secret_previous) == (shown[0], old)
        assert secret_rotations(db, CODE) == before + 1
    # A page drawn anew carries a new key: pressing again there is a new rotation.
    page.goto("/institution")
    assert page.locator("#secret input[name=form_key]").input_value() != fields["form_key"]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_late_repeat_of_a_rotation_is_a_page_that_says_why(
    bank_page: Page, bank: Bank, lang: str
) -> None:
    """The first page's form sent again after a later rotation: its secret is no longer the
    current one, so it cannot be shown; the answer is the page, in the reader's language,
    saying so (409), with no secret on it and no third rotation."""
    page = bank_page
    _log_in(page, bank, lang)
    form = page.locator("#secret form")
    first = {
        name: form.locator(f"input[name={name}]").input_value()
        for name in ("csrf_token", "form_key")
    }
    url = "/institution/secret-rotations"
    assert page.request.post(url, form={**first, "confirm": "on"}).status == 200
    page.goto("/institution")
    later = page.locator("#secret input[name=form_key]").input_value()
    assert page.request.post(url, form={**first, "form_key": later, "confirm": "on"}).ok
    with transaction(bank.sessions) as db:
        before = secret_rotations(db, CODE)
        current = db.scalars(select(Institution).where(Institution.code == CODE)).one()
        secret = current.callback_secret
    answer = page.request.post(url, form={**first, "confirm": "on"})
    assert answer.status == 409
    assert answer.headers["content-type"].startswith("text/html")
    said = {"zh-CN": "密钥已再次轮换", "en": "rotated again"}[lang]
    assert said in answer.text()
    assert "whsec_" not in answer.text()
    with transaction(bank.sessions) as db:
        assert secret_rotations(db, CODE) == before
        row = db.scalars(select(Institution).where(Institution.code == CODE)).one()
        assert row.callback_secret == secret


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_form_key_spent_on_another_request_is_a_page_that_says_nothing_rotated(
    bank_page: Page, bank: Bank, lang: str, tmp_path: Path
) -> None:
    """The page's form key given first to an API rotation of the same user (a request of
    another kind), then the form pressed: it rotates nothing, and the answer is the page in
    the reader's language (422) with a fresh form, not a problem+json printed raw."""
    page = bank_page
    username = _log_in(page, bank, lang)
    spent = page.locator("#secret input[name=form_key]").input_value()
    with transaction(bank.sessions) as db:
        user = db.scalars(select(User).where(User.username == username)).one()
        token = bearer(db, user, scopes=[Scope.institution_read, Scope.institution_rotate])
    by_api = page.request.post(
        "/api/v1/institution/me/secret-rotations", headers={**token, "Idempotency-Key": spent}
    )
    assert by_api.status == 201, by_api.text()
    with transaction(bank.sessions) as db:
        before = secret_rotations(db, CODE)
    page.check("#secret input[name=confirm]")
    with page.expect_response("**/institution/secret-rotations") as pressed:
        page.click("#secret button[type=submit]")
    assert pressed.value.status == 422
    said = {"zh-CN": "本次未轮换密钥", "en": "no secret was rotated"}[lang]
    expect(page.locator("#rotation-refused")).to_contain_text(said)
    assert "whsec_" not in page.content()
    assert page.locator("#secret input[name=form_key]").input_value() != spent
    _shoot(page, screenshot_dir(tmp_path) / f"secret-key-spent-{lang[:2]}.png")
    with transaction(bank.sessions) as db:
        assert secret_rotations(db, CODE) == before
