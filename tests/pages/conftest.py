"""Browser tests of the intake form: Debian's Chromium (Playwright) against the real processes.

One stack (API, worker, beat, simulator) on a database and queue of its own, on Redis only:
the form does not care which broker carries the instructions (tests/e2e covers both).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role
from app.db import make_engine, make_sessionmaker, transaction
from tests.conftest import migrated_database
from tests.e2e.stack import Stack, running_stack
from tests.factories import PASSWORD, make_user

CHROMIUM = "/usr/bin/chromium"
BROKER = "redis://127.0.0.1:6379/11"
QUEUE = f"form-{uuid.uuid4().hex[:12]}"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def form_database() -> Iterator[str]:
    with migrated_database() as url:
        yield url


@pytest.fixture(scope="session")
def form_sessions(form_database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(form_database)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def form_stack(form_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = {"STOPAY_WORKER_PROCESSES": "1", "STOPAY_WORKER_CONCURRENCY": "16"}
    with running_stack(
        database_url=form_database,
        broker_url=BROKER,
        queue=QUEUE,
        logs=tmp_path_factory.mktemp("form-stack"),
        settings=settings,
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module, not per session: Playwright's sync API keeps an asyncio loop running in
    # this thread while it is open, and later tests (asyncio.run) must not find one.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    user_id: int


def make_login(sessions: sessionmaker[Session], *, language: str) -> Login:
    """A call-taker of a unit of their own, committed (the API process reads it)."""
    with transaction(sessions) as db:
        user = make_user(db, role=Role.call_taker, language=language)
        return Login(user.username, PASSWORD, user.id)


@pytest.fixture
def login(form_sessions: sessionmaker[Session]) -> Login:
    return make_login(form_sessions, language="en")


@pytest.fixture
def page(browser: Browser, form_stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        base_url=form_stack.api_url, viewport={"width": 1480, "height": 1000}, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@contextmanager
def own_sessions() -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated database of the module's own (its stack's)."""
    with migrated_database() as url:
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        engine.dispose()


@contextmanager
def stack_on(
    sessions: sessionmaker[Session], *, queue: str, broker: str, logs: Path, **settings: str
) -> Iterator[Stack]:
    """API, one worker process of 16 threads, beat and the simulator on `sessions`' database;
    `settings` (STOPAY_...) on top."""
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    base = {"STOPAY_WORKER_PROCESSES": "1", "STOPAY_WORKER_CONCURRENCY": "16"}
    with running_stack(
        database_url=url,
        broker_url=broker,
        queue=queue,
        logs=logs,
        settings={**base, **settings},
    ) as stack:
        yield stack
