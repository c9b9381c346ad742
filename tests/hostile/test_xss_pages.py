"""Hostile text on every page that shows it, in Chromium against the real API process.

The payloads (tests/hostile/xss_payloads.py: the OWASP XSS Filter Evasion Cheat Sheet, plus
breakouts of this service's own contexts) go in as victim name, narrative, holder names,
bank-reported onward holder names (callbacks signed with the institution's secret), a freeze's
document number, an escalation's note and last error, draft fields, staff and token names.
Each page must show them as text: no element or attribute the page did not make, no `on*`
attribute, no `javascript:` URL, no request to another origin, no navigation, no dialog, no
Content-Security-Policy violation and no console error. The CSV export neutralises formulas.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from app.dashboard.exports import FORMULA_START
from app.db import make_engine, make_sessionmaker
from tests.conftest import migrated_database
from tests.e2e.stack import Stack, running_stack
from tests.factories import PASSWORD
from tests.hostile.xss_fixtures import Seeded, seed
from tests.hostile.xss_payloads import OWASP, PAYLOADS

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
BROKER = "redis://127.0.0.1:6379/13"
QUEUE = f"xss-{uuid.uuid4().hex[:12]}"
# Set to a folder to keep a screenshot of the first hostile case page, to look at.
SHOTS = os.environ.get("STOPAY_XSS_SCREENSHOTS")

# Before any of the page's own scripts: a CSP violation is recorded wherever it happens.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`), true);
"""
# Everything in the DOM the page did not make itself. Payloads all carry "XSS" or "alert(",
# so an attribute holding either was made by one, unless it is one the page fills with text.
AUDIT = """() => {
  const bad = [];
  const TEXT_ATTRS = new Set(["value", "aria-label", "title", "placeholder"]);
  // Random tokens the page makes itself: a CSRF token may spell "xSs" by chance.
  const TOKEN_ATTRS = new Set(["data-csrf"]);
  const NEVER = "img,iframe,frame,frameset,object,embed,base,bgsound,applet,xss,video,audio";
  for (const el of document.querySelectorAll(NEVER)) bad.push(`<${el.tagName}>`);
  for (const el of document.body.querySelectorAll("meta,link,title,style")) {
    if (!el.closest("svg")) bad.push(`<${el.tagName}> in body`);
  }
  for (const s of document.scripts) {
    if (s.type !== "application/json" && !s.src.startsWith(location.origin + "/static/")) {
      bad.push(`script ${s.src || s.textContent.slice(0, 40)}`);
    }
  }
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const url = a.value.replace(/[\\s\\x00-\\x1f]/g, "").toLowerCase();
      if (name.startsWith("on")) bad.push(`${el.tagName}[${name}]`);
      if (TEXT_ATTRS.has(name) || TOKEN_ATTRS.has(name)) continue;
      if (/^(javascript|vbscript|data:text)/.test(url)) bad.push(`${el.tagName}[${name}=${url}]`);
      if (/xss|alert\\s*\\(/i.test(a.value)) bad.push(`${el.tagName}[${name}=${a.value}]`);
      if (["href", "src", "action", "formaction"].includes(name)
          && /^([a-z][a-z0-9+.-]*:|\\/\\/)/i.test(a.value.trim())
          && !a.value.startsWith(location.origin) && !/^tel:/.test(a.value)) {
        bad.push(`${el.tagName}[${name}=${a.value}] leaves the site`);
      }
    }
  }
  return bad.concat(window.__violations.map((v) => `CSP ${v}`));
}"""

CHART = "echarts.getInstanceByDom(document.getElementById('trail-chart'))"


@dataclass
class Watch:
    """What a page did that it should not have: dialogs, errors, requests elsewhere."""

    origin: str
    seen: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("dialog", lambda d: (self.seen.append(f"dialog {d.message}"), d.dismiss()))
        page.on("pageerror", lambda e: self.seen.append(f"page error {e}"))
        page.on("console", lambda m: m.type == "error" and self.seen.append(f"console {m.text}"))
        page.on("request", self._request)

    def _request(self, request: object) -> None:
        url = str(getattr(request, "url", ""))
        if not url.startswith(self.origin) and not url.startswith("data:"):
            self.seen.append(f"request {url}")


@pytest.fixture(scope="module")
def sessions() -> Iterator[sessionmaker[Session]]:
    with migrated_database() as url:
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        engine.dispose()


@pytest.fixture(scope="module")
def stack(
    sessions: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    # The API alone: no worker sends anything, the test plays the banks.
    with running_stack(
        database_url=url,
        broker_url=BROKER,
        queue=QUEUE,
        logs=tmp_path_factory.mktemp("xss-stack"),
        settings={},
        workers=(),
        services=("api",),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def seeded(stack: Stack, sessions: sessionmaker[Session]) -> Seeded:
    return seed(stack, sessions, PAYLOADS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def signed_in(browser: Browser, stack: Stack, username: str, watch: Watch) -> Page:
    context = browser.new_context(
        base_url=stack.api_url, viewport={"width": 1480, "height": 1000}, locale="en-US"
    )
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login?next=/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url("**/")
    watch.attach(page)
    return page


def visit(page: Page, path: str, ready: str) -> None:
    page.goto(path)
    page.wait_for_selector(ready, state="attached")
    page.wait_for_timeout(600)  # the live stream's first swap, the charts' first draw


def assert_clean(page: Page, path: str, watch: Watch, *, stays_at: str | None = None) -> None:
    """`stays_at`: where the page itself puts its address (the form drops ?draft=)."""
    assert page.evaluate(AUDIT) == [], path
    assert page.url == watch.origin + (stays_at or path), f"{path} went to {page.url}"
    assert watch.seen == [], path


def text_of(page: Page, selector: str) -> str:
    return str(page.evaluate(f"() => document.querySelector({selector!r}).textContent"))


def test_there_are_enough_payloads_from_a_public_list() -> None:
    assert len(OWASP) >= 30
    assert len(set(PAYLOADS)) == len(PAYLOADS)


def test_the_case_pages_show_hostile_names_as_text(
    browser: Browser, stack: Stack, seeded: Seeded
) -> None:
    watch = Watch(stack.api_url)
    page = signed_in(browser, stack, seeded.boss, watch)
    for n, case in enumerate(seeded.cases):
        path = f"/dashboard/cases/{case.case_no}"
        visit(page, path, "#trail")
        assert_clean(page, path, watch)
        page.wait_for_selector("#trail-chart svg")  # drawn from the JSON it read back
        shown = page.locator(
            "#trail tr.account:not([data-level='0']) div.muted.small"
        ).all_text_contents()
        assert sorted(h.strip() for h in shown) == sorted(h.strip() for h in case.holders)
        assert case.payloads[0].strip() in text_of(page, ".case-head")
        # The graph's data read back whole, and each node's tooltip shows its holder as text.
        nodes = page.evaluate(f"() => {CHART}.getOption().series[0].data.map((n) => n.holder)")
        assert sorted(h for h in nodes if h not in ("", "陈女士")) == sorted(case.holders)
        for index, holder in enumerate(nodes):
            page.evaluate(
                """(i) => echarts.getInstanceByDom(document.getElementById('trail-chart'))
                .dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i})""",
                index,
            )
            page.wait_for_timeout(50)
            assert holder in text_of(page, "#trail-chart"), holder
            assert_clean(page, path, watch)
        if n == 0 and SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "case-page.png"), full_page=True)


def test_the_dashboard_and_admin_pages_show_hostile_text_as_text(
    browser: Browser, stack: Stack, seeded: Seeded
) -> None:
    watch = Watch(stack.api_url)
    page = signed_in(browser, stack, seeded.boss, watch)
    visit(page, "/dashboard", "#escalations")
    assert_clean(page, "/dashboard", watch)
    escalations = text_of(page, "#escalations")
    # The bank's raw error is in the failure's tooltip, as an attribute's text.
    errors = page.locator("#escalations .failure").evaluate_all("els => els.map(e => e.title)")
    for case in seeded.cases:
        assert case.payloads[1].strip() in escalations  # the note
        assert any(case.payloads[0].strip() in error for error in errors)  # the bank's error

    watch = Watch(stack.api_url)
    admin = signed_in(browser, stack, seeded.admin, watch)
    visit(admin, "/admin/users", "details.person")
    assert_clean(admin, "/admin/users", watch)
    people = text_of(admin, "main")
    assert all(p.strip() in people for p in PAYLOADS)


def test_the_intake_pages_show_hostile_drafts_and_cases_as_text(
    browser: Browser, stack: Stack, seeded: Seeded
) -> None:
    watch = Watch(stack.api_url)
    page = signed_in(browser, stack, seeded.taker, watch)
    path = f"/intake?draft={seeded.draft_key}"
    visit(page, path, f"input[name='transfers.{len(PAYLOADS) - 1}.to.holder_name']")
    assert_clean(page, path, watch, stays_at="/intake")
    holders = page.locator("input[name$='.to.holder_name']").evaluate_all(
        "(l) => l.map((i) => i.value)"
    )
    assert holders == PAYLOADS
    assert page.input_value("#f-narrative") == "\n".join(PAYLOADS)
    path = f"/intake/cases/{seeded.cases[0].case_no}"
    visit(page, path, "#case-live")
    assert_clean(page, path, watch)


def test_the_case_export_neutralises_every_formula(stack: Stack, seeded: Seeded) -> None:
    with httpx.Client(base_url=stack.api_url, headers=seeded.boss_token, timeout=30) as api:
        for case in seeded.cases:
            answer = api.get(f"/api/v1/cases/{case.case_no}/export.csv")
            assert answer.status_code == 200, answer.text
            assert "filename*=UTF-8''" in answer.headers["content-disposition"]
            rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
            cells = [cell for row in rows[1:] for cell in row]
            assert [c for c in cells if c.lstrip(" \u3000")[:1] in FORMULA_START] == []
            holders = [row[rows[0].index("holder_name")] for row in rows[1:]]
            for holder in case.holders[: len(case.cards)]:
                shown = "'" + holder if holder.lstrip(" \u3000")[:1] in FORMULA_START else holder
                assert shown in holders
