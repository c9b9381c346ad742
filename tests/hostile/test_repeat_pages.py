"""Our own pages send an Idempotency-Key with each action: made in the browser on a form's
first submit and kept until a definite answer, so a double click is one action. Pages
render no key, so an unchanged panel renders the same and the live streams send nothing.
In Chromium against the API process (under `flock /tmp/stack.lock`): a double submit of
the resend and of a freeze makes one instruction, and the page shows the action done."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Request, Response, expect, sync_playwright
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit
from app.db import transaction, utcnow
from app.dispatch.models import Instruction
from tests.e2e.stack import Stack, wait_for
from tests.factories import PASSWORD, make_user
from tests.hostile.repeat_fixtures import (
    Scene,
    bounced,
    committed,
    escalated,
    holding,
    own_database,
    page_stack,
)
from tests.intake.conftest import sign_in
from tests.pages.conftest import CHROMIUM

__all__ = ["committed", "own_database", "page_stack"]

FORM = re.compile(r"<form class=\"(api|return|resend)( destructive)?\"[^>]*>")


def _forms(html: str) -> list[str]:
    forms = [m.group(0) for m in FORM.finditer(html)]
    assert forms, "no action form on the page"
    assert not [f for f in forms if "data-idempotency-key" in f]  # made by the browser
    return forms


def test_two_renders_of_an_unchanged_case_page_are_identical(
    client: TestClient, db: Session
) -> None:
    scene = Scene(db)
    holding(scene.stop, scene.amount)
    db.flush()
    sign_in(client, make_user(db, role=Role.supervisor, unit=db.get_one(Unit, scene.case.unit_id)))
    first = client.get(f"/dashboard/cases/{scene.case.case_no}").text
    assert (
        len(_forms(first)) >= 4
    )  # what a holding stop-payment allows: freeze, renew, query, release
    assert client.get(f"/dashboard/cases/{scene.case.case_no}").text == first


def test_two_renders_of_an_unchanged_status_page_are_identical(
    client: TestClient, db: Session
) -> None:
    scene = Scene(db)
    bounced(scene.stop)
    db.flush()
    sign_in(client, make_user(db, role=Role.call_taker, unit=db.get_one(Unit, scene.case.unit_id)))
    first = client.get(f"/intake/cases/{scene.case.case_no}").text
    assert _forms(first)
    assert client.get(f"/intake/cases/{scene.case.case_no}").text == first


def test_a_double_click_on_the_resend_form_resends_once(client: TestClient, db: Session) -> None:
    scene = Scene(db)
    bounced(scene.stop)
    db.flush()
    unit = db.get_one(Unit, scene.case.unit_id)
    taker = sign_in(client, make_user(db, role=Role.call_taker, unit=unit))
    [_] = _forms(client.get(f"/intake/cases/{scene.case.case_no}").text)
    key = uuid.uuid4().hex  # what status.js makes on the first click and keeps
    url = scene.url(f"instructions/{scene.stop.id}/resend")
    headers = {**taker.api_headers, "Idempotency-Key": key}
    clicks = [client.post(url, json={"holder_name": "刘某某"}, headers=headers) for _ in range(2)]
    assert [c.status_code for c in clicks] == [201, 201]
    assert clicks[0].json() == clicks[1].json()
    count = select(func.count()).where(Instruction.replaces_id == scene.stop.id)
    assert db.scalar(count) == 1


def test_the_dashboards_escalation_and_deadline_forms_render_the_same_twice(
    client: TestClient, db: Session
) -> None:
    lapsing, phoned = Scene(db), Scene(db)
    holding(lapsing.stop, lapsing.amount)
    lapsing.stop.expires_at = utcnow() + dt.timedelta(hours=1)
    escalated(phoned.stop)
    phoned.case.unit_id = lapsing.case.unit_id
    db.flush()
    unit = db.get_one(Unit, lapsing.case.unit_id)
    sign_in(client, make_user(db, role=Role.supervisor, unit=unit))
    page = client.get("/dashboard").text
    assert f"/cases/{lapsing.case.case_no}/freezes" in page
    assert f"/escalations/{phoned.stop.id}/handled" in page
    assert len(_forms(page)) >= 2
    assert client.get("/dashboard").text == page  # nothing changed: the same fragments


# A double submit: a double click; two submits in one task (what no disabled button stops);
# Enter twice in the field.


def _enter_twice(page: Page, form: str) -> None:
    """Enter in the field, twice: the field keeps the focus (what dashboard.js's guard on a
    supervisor typing looks at)."""
    for _ in range(2):
        page.press(f"{form} input[type='text']", "Enter")


DOUBLE = {
    "dblclick": lambda page, form: page.locator(f"{form} button").dblclick(),
    "requestSubmit": lambda page, form: page.evaluate(
        "(sel) => { const f = document.querySelector(sel); f.requestSubmit(); f.requestSubmit(); }",
        form,
    ),
    "Enter twice": _enter_twice,
}

# The panels the live stream has swapped in: its first round sends every panel, the same
# HTML, and a form found before it would be one the page no longer shows.
SWAPPED = """window.swapped = new Set();
document.addEventListener("htmx:sseMessage", (e) => window.swapped.add(e.target.id));"""


@dataclass
class Sent:
    """The browser's POSTs to one address: each one's Idempotency-Key, and what came back
    (a page that reloads on the first answer may drop an answer, or the rest of one)."""

    path: str
    keys: list[str | None] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    over: list[Request] = field(default_factory=list)  # answered or dropped

    def watch(self, page: Page) -> None:
        page.on("request", self._sent)
        page.on("response", self._answered)
        page.on("requestfinished", self._over)
        page.on("requestfailed", self._over)

    def _ours(self, request: Request) -> bool:
        return request.method == "POST" and request.url.endswith(self.path)

    def _sent(self, request: Request) -> None:
        if self._ours(request):
            self.keys.append(request.headers.get("idempotency-key"))

    def _answered(self, response: Response) -> None:
        if self._ours(response.request):
            self.answers.append(response.status)

    def _over(self, request: Request) -> None:
        if self._ours(request):
            self.over.append(request)

    def all_over(self) -> bool:
        return len(self.over) == len(self.keys)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, page_stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        base_url=page_stack.api_url, viewport={"width": 1480, "height": 1000}, locale="en-US"
    )
    context.add_init_script(SWAPPED)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _log_in(page: Page, username: str, to: str) -> None:
    page.goto(f"/login?next={to}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"**{to}")


def _settled(sent: Sent, requests: int) -> None:
    """Every request of the double submit answered (or dropped), all with one key."""
    wait_for(sent.all_over, timeout=10, what="the answers to the double submit")
    assert [a for a in sent.answers if a >= 300] == []  # a replay, never a refusal
    assert len(sent.keys) == requests, sent.keys
    assert sent.keys[0], "no Idempotency-Key"
    assert sent.keys == [sent.keys[0]] * requests, "one click, one key"


@pytest.mark.slow
@pytest.mark.parametrize("double", ["dblclick", "requestSubmit"])
def test_a_double_submit_of_the_resend_form_resends_once(
    page: Page, committed: sessionmaker[Session], double: str
) -> None:
    with transaction(committed) as db:
        scene = Scene(db)
        bounced(scene.stop)
        taker = make_user(db, role=Role.call_taker, unit=db.get_one(Unit, scene.case.unit_id))
        case_no, stop_id, username = scene.case.case_no, scene.stop.id, taker.username
    _log_in(page, username, f"/intake/cases/{case_no}")
    sent = Sent(f"/instructions/{stop_id}/resend")
    sent.watch(page)
    form = f"#resend-{stop_id}"
    page.fill(f"{form} input", "刘某某")
    DOUBLE[double](page, form)
    # The page reloads on the first 201: the form is gone, the resend is on it.
    expect(page.locator("form.resend")).to_have_count(0)
    _settled(sent, requests=2)  # no button is disabled: both clicks submit
    with committed() as db:
        [resent] = db.scalars(select(Instruction.id).where(Instruction.replaces_id == stop_id))
    expect(page.locator(f"#instruction-{resent}")).to_have_attribute("data-state", "pending")


# Where a supervisor freezes a stop-payment: the panel, and the form in it.
FREEZE_FORM = {
    "deadlines": ("panel-deadlines", "#deadlines li[data-case='{case_no}'] form"),
    "trail": ("panel-trail", "#trail tr.account[data-level='1'] form[data-url$='/freezes']"),
}


def _frozen_shown(page: Page, where: str, case_no: str) -> None:
    if where == "deadlines":  # the freeze follows the stop now: nothing is due
        expect(page.locator(f"#deadlines li[data-case='{case_no}']")).to_have_count(0)
    else:  # the account's latest instruction is the freeze, waiting for the bank
        expect(page.locator("#trail tr.account[data-level='1'] td.state")).to_have_text(
            "waiting to be sent · Freeze"
        )


@pytest.mark.slow
@pytest.mark.parametrize("double", DOUBLE)
@pytest.mark.parametrize("where", FREEZE_FORM)
def test_a_double_submit_of_a_freeze_freezes_once(
    page: Page, committed: sessionmaker[Session], where: str, double: str
) -> None:
    with transaction(committed) as db:
        scene = Scene(db)
        holding(scene.stop, scene.amount)
        scene.stop.expires_at = utcnow() + dt.timedelta(hours=1)  # due on the dashboard
        boss = make_user(db, role=Role.supervisor, unit=db.get_one(Unit, scene.case.unit_id))
        case_no, case_id, username = scene.case.case_no, scene.case.id, boss.username
    _log_in(page, username, "/dashboard" if where == "deadlines" else f"/dashboard/cases/{case_no}")
    sent = Sent(f"/cases/{case_no}/freezes")
    sent.watch(page)
    panel, form = FREEZE_FORM[where]
    form = form.format(case_no=case_no)
    page.wait_for_function("(panel) => window.swapped.has(panel)", arg=panel)
    if where == "trail":
        page.locator("#trail tr.account[data-level='1'] details summary").click()
    page.locator(f"{form} input[name='document_no']").fill("穗公（反诈）冻字〔2026〕78号")
    # The form itself, kept: the stream replaces the panel once the freeze is made.
    page.evaluate("(sel) => { window.acted = document.querySelector(sel); }", form)
    DOUBLE[double](page, form)
    _frozen_shown(page, where, case_no)
    # The first submit disables the button: neither a second click nor Enter submits again.
    _settled(sent, requests=2 if double == "requestSubmit" else 1)
    shown = page.evaluate("""() => [window.acted.classList.contains("done"),
        window.acted.querySelector("button").textContent,
        window.acted.querySelector(".err").textContent]""")
    # The deadlines panel says Freeze; the trail's menu says what it does to the stop-payment.
    label = "Freeze" if where == "deadlines" else "Convert the stop-payment to a freeze"
    assert shown == [True, f"✓ {label}", ""]
    with committed() as db:
        count = select(func.count()).where(
            Instruction.case_id == case_id, Instruction.kind == "freeze"
        )
        assert db.scalar(count) == 1
