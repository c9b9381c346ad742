"""The admin pages in Chromium against the real API process: an admin creates a person and
deactivates them by keyboard only, in each language (and the screenshots, when asked)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Scope, Unit, UnitKind, User
from app.auth.service import create_api_token
from app.db import make_engine, make_sessionmaker, transaction
from tests.conftest import migrated_database
from tests.e2e.stack import Stack, running_stack
from tests.factories import PASSWORD, make_user
from tests.pages.evidence import screenshot_dir

pytestmark = pytest.mark.slow

BROKER = "redis://127.0.0.1:6379/12"
QUEUE = f"admin-{uuid.uuid4().hex[:12]}"
# Who the admin types in, in the page's language.
WORDS = {
    "zh-CN": {
        "name": "李娜",
        "created": "已创建用户",
        "deactivated": "已停用",
        "inactive": "已停用",
    },
    "en": {
        "name": "Li Na",
        "created": "Created",
        "deactivated": "Deactivated",
        "inactive": "deactivated",
    },
}


@dataclass(frozen=True)
class Centre:
    sessions: sessionmaker[Session]
    unit_code: str


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Centre, Stack]]:
    """A database of its own with a few people and tokens (what a centre's list looks like),
    and the API alone on it: these pages need no worker, beat or simulator."""
    with migrated_database() as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as db:
            unit = Unit(
                code="SZ-FZZX",
                name_zh="市反诈中心",
                name_en="Municipal anti-fraud centre",
                kind=UnitKind.municipal_centre.value,
            )
            station = Unit(
                code="SZ-YH-PCS",
                name_zh="粤海派出所",
                name_en="Yuehai police station",
                kind=UnitKind.police_station.value,
            )
            db.add_all([unit, station])
            db.flush()
            for username, name, role, where in (
                ("chen.jing", "陈静", Role.call_taker, unit),
                ("zhou.qiang", "周强", Role.supervisor, unit),
                ("he.min", "何敏", Role.call_taker, station),
            ):
                person = make_user(db, role=role, unit=where, language="zh-CN")
                person.username, person.display_name = username, name
            integrator = make_user(db, role=Role.supervisor, unit=unit)
            integrator.username, integrator.display_name = "bank-portal", "银行门户对接"
            db.flush()
            create_api_token(
                db,
                user=integrator,
                name="bank portal read-only",
                max_age_s=30 * 86400,
                scopes=[Scope.cases_read],
            )
        with running_stack(
            database_url=url,
            broker_url=BROKER,
            queue=QUEUE,
            logs=tmp_path_factory.mktemp("admin-stack"),
            settings={},
            workers=(),
            services=("api",),
        ) as stack:
            yield Centre(sessions, "SZ-FZZX"), stack
        engine.dispose()


@pytest.fixture
def admin_page(browser: Browser, centre: tuple[Centre, Stack]) -> Iterator[Page]:
    context = browser.new_context(
        base_url=centre[1].api_url, viewport={"width": 1480, "height": 1000}, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.tagName"))


def tab_to(page: Page, element_id: str, *, most: int = 20) -> int:
    """Tab until `element_id` has the focus; how many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if focused(page) == element_id:
            return presses
    raise AssertionError(f"{element_id} never got the focus; ended on {focused(page)}")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_admin_creates_a_person_and_deactivates_them_by_keyboard(
    admin_page: Page, centre: tuple[Centre, Stack], tmp_path: Path, lang: str
) -> None:
    found, _ = centre
    page, words, tag = admin_page, WORDS[lang], lang.split("-")[0]
    with transaction(found.sessions) as db:
        unit = db.scalars(select(Unit).where(Unit.code == found.unit_code)).one()
        admin = make_user(db, role=Role.admin, unit=unit, language=lang)
        admin.username = f"wang.zr-{tag}"
        admin.display_name = "王主任" if lang == "zh-CN" else "Director Wang"
        admin_name = admin.username
    refused: list[str] = []

    def csp(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{message.text} @ {message.location} on {page.url}")

    page.on("console", csp)

    page.goto("/login?next=/admin/users")
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type(admin_name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/users")
    expect(page.locator("#new-username")).to_be_focused()
    # htmx is loaded deferred: an Enter before it is ready would post the form the plain way.
    page.wait_for_load_state("load")
    page.wait_for_function("() => Boolean(window.htmx)")
    page.evaluate("window.sameDocument = true")  # gone if a form reloaded the page

    newcomer = f"li.na-{tag}"  # the database is this module's own
    page.keyboard.type(newcomer)
    page.keyboard.press("Tab")
    page.keyboard.type(words["name"])
    page.keyboard.press("Tab")  # the role: call-taker, the first
    page.keyboard.press("Tab")
    page.keyboard.type(found.unit_code)
    page.keyboard.press("Tab")  # the language: the admin's own
    page.keyboard.press("Tab")
    page.keyboard.type("short")
    page.keyboard.press("Enter")
    # Refused beside the password, in the admin's language; the focus back in it.
    expect(page.locator("#create-new-password-err")).to_have_text(
        "至少 12 个字符" if lang == "zh-CN" else "At least 12 characters"
    )
    expect(page.locator("#new-password")).to_be_focused()
    expect(page.locator("#new-username")).to_have_value(newcomer)
    # The form swapped in is htmx's once it has settled (20 ms); an Enter before that would
    # post it the plain way (which works too, but reloads the page).
    page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-swapping')")
    page.keyboard.type("a long enough passphrase")
    page.keyboard.press("Enter")

    person = page.locator(f'details[data-username="{newcomer}"]')
    expect(page.locator(".flash")).to_contain_text(f"{words['created']} {newcomer}")
    expect(person).to_have_attribute("open", "")
    expect(person.locator("summary")).to_be_focused()
    assert page.evaluate("window.sameDocument") is True  # htmx swapped it in place
    shoot(page, screenshot_dir(tmp_path) / f"admin-users-{tag}.png")

    with transaction(found.sessions) as db:
        created = db.scalars(select(User).where(User.username == newcomer)).one()
        assert (created.display_name, created.role, created.language) == (
            words["name"],
            "call_taker",
            lang,
        )
        user_id = created.id
    presses = tab_to(page, f"deactivate-{user_id}")
    assert presses <= 8  # reset, role, then the account: a short way
    page.keyboard.press("Enter")

    expect(page.locator(".flash")).to_contain_text(words["deactivated"])
    expect(person.locator("summary")).to_be_focused()
    expect(person.locator("summary .pill.bad")).to_have_text(words["inactive"])
    expect(page.locator(f"#reactivate-{user_id}")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True
    with transaction(found.sessions) as db:
        assert db.get_one(User, user_id).is_active is False
    # The header's language switch (nav.js) turns the page into the other language.
    other = "en" if lang == "zh-CN" else "zh-CN"
    page.locator("nav select[name=language]").select_option(other)
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.locator("h1")).to_have_text("People" if other == "en" else "用户管理")
    assert refused == [], "\n".join(refused)


def shoot(page: Page, path: Path) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
