"""A disputed outcome on the case page, in Chromium, in both languages: the API process
alone (uvicorn in a thread) on a database of its own; the callbacks are signed as a bank
signs them and sent over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit
from app.db import make_engine, make_sessionmaker, transaction
from app.i18n import t
from app.i18n.labels import OUTCOME_LABEL
from app.main import create_app
from tests.callbacks.signing import outcome, signed
from tests.casework import instructions, make_case
from tests.conftest import migrated_database, service_settings
from tests.factories import PASSWORD, fresh_card_no, make_user
from tests.pages.evidence import screenshot_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_sessions() -> Iterator[sessionmaker[Session]]:
    with migrated_database() as url:
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        engine.dispose()


@pytest.fixture(scope="module")
def api_url(own_sessions: sessionmaker[Session]) -> Iterator[str]:
    url = own_sessions.kw["bind"].url.render_as_string(hide_password=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(service_settings(url)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_disputed_outcome_is_marked_and_listed_on_the_case_page(
    browser: Browser, own_sessions: sessionmaker[Session], api_url: str, tmp_path: Path
) -> None:
    with transaction(own_sessions) as db:
        case = make_case(db, (fresh_card_no("CCB"), "5000.00"))
        [stop] = instructions(db, case)
        case_no, unit, stop_id = case.case_no, db.get_one(Unit, case.unit_id), stop.id
        first = signed(db, "CCB", outcome(stop))
        late = signed(db, "CCB", outcome(stop, outcome="no_funds", amount_stopped="0.00"))
        bosses = {
            lang: make_user(db, role=Role.supervisor, unit=unit, language=lang).username
            for lang in ("en", "zh-CN")
        }
    for body, headers in (first, late):
        httpx.post(f"{api_url}/api/v1/callbacks/CCB", content=body, headers=headers)
    out = screenshot_dir(tmp_path)
    for lang, title in (("en", "Disputed outcomes"), ("zh-CN", "争议结果")):
        context = browser.new_context(
            base_url=api_url, viewport={"width": 1280, "height": 900}, locale=lang
        )
        page = context.new_page()
        page.goto(f"/login?next=/dashboard/cases/{case_no}")
        page.fill("#username", bosses[lang])
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url(f"**/dashboard/cases/{case_no}")
        disputes = page.locator("#disputed-outcomes")
        expect(disputes).to_contain_text(title)
        expect(disputes.locator(f"tr[data-instruction='{stop_id}']")).to_contain_text(
            t(OUTCOME_LABEL["no_funds"], lang)
        )
        expect(disputes.locator(".pill.bad")).to_be_visible()
        disputes.scroll_into_view_if_needed()
        short = "zh" if lang == "zh-CN" else "en"
        page.screenshot(path=str(out / f"disputed-outcome-{short}.png"), full_page=False)
        context.close()
