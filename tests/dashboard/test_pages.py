"""The dashboard's pages and their live stream, in process on the real database."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from contextlib import nullcontext
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.auth.models import Role, Unit, User
from app.casefile.create import create_case
from app.cases.models import Case, CaseAccount
from app.cases.reveal import REVEALED, reveal_value
from app.cases.schemas import CaseCreate, PersonalField
from app.config import Settings
from app.dashboard.live import latest_event, panel_events
from app.flows import Rules
from app.pages.dashboard import dashboard_panels
from tests.casework import instructions, make_case, onward, report
from tests.factories import VICTIM_SERIAL, card_no, case_payload, fresh_card_no, make_user
from tests.intake.conftest import sign_in

ID_NO = "11010519491231002X"  # case_payload's victim


class FakeRequest:
    """What the stream asks of the request: whether the client has gone."""

    def __init__(self) -> None:
        self.gone = False

    async def is_disconnected(self) -> bool:
        return self.gone


def _boss(client: TestClient, db: Session, case: Case) -> None:
    sign_in(client, make_user(db, role=Role.supervisor, unit=db.get_one(Unit, case.unit_id)))


def test_the_dashboard_shows_every_panel_and_listens_to_the_stream(
    client: TestClient, db: Session
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "45000.00"))
    _boss(client, db, case)
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    assert 'sse-connect="/dashboard/live"' in page.text
    for panel in ("overview", "queue", "deadlines", "escalations", "scorecard"):
        assert f'sse-swap="{panel}"' in page.text
    assert f'href="/dashboard/cases/{case.case_no}"' in page.text
    assert "45,000.00" in page.text
    assert "/static/vendor/echarts/echarts.min.js" in page.text


def test_a_call_taker_is_refused_the_pages_and_the_stream(client: TestClient, db: Session) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "45000.00"))
    sign_in(client, make_user(db, role=Role.call_taker, unit=db.get_one(Unit, case.unit_id)))
    for path in ("/dashboard", "/dashboard/live", f"/dashboard/cases/{case.case_no}"):
        assert client.get(path).status_code == 403, path


def test_the_case_page_draws_the_trail_coloured_by_outcome_in_chinese(
    client: TestClient, db: Session
) -> None:
    card = fresh_card_no("CCB")
    case = make_case(db, (card, "45000.00"))
    sign_in(
        client,
        make_user(db, role=Role.supervisor, unit=db.get_one(Unit, case.unit_id), language="zh-CN"),
    )
    [stop] = instructions(db, case)
    report(client, db, stop, outcome="stopped_partial", amount_stopped="20000.00")
    page = client.get(f"/dashboard/cases/{case.case_no}")
    assert page.status_code == 200, page.text
    assert "资金流向" in page.text
    data = re.search(r'<script type="application/json" id="trail-data">(.*?)</script>', page.text)
    assert data is not None
    graph = json.loads(data.group(1))
    by_level = {n["level"]: n for n in graph["nodes"]}
    assert by_level[0]["status"] == "victim"
    assert (by_level[1]["account_no"], by_level[1]["status"]) == (card, "partly_stopped")
    [edge] = graph["links"]
    assert edge["amount"] == "45000.00"
    assert f'data-url="/api/v1/cases/{case.case_no}/freezes"' in page.text


def _stream(
    db: Session, request: FakeRequest, settings: Settings, viewer: User
) -> AsyncIterator[str]:
    def render(session: Session) -> dict[str, str]:
        panels = dashboard_panels(
            session, user=viewer, settings=settings, rules=Rules.from_settings(settings), lang="en"
        )
        return {"queue": panels["queue"], "overview": panels["overview"]}

    return panel_events(
        request,  # type: ignore[arg-type]
        factory=lambda: nullcontext(db),  # type: ignore[arg-type, return-value]
        render=render,
        poll_s=0.01,
    )


def test_the_stream_sends_a_panel_again_only_when_a_change_touched_it(
    db: Session, settings: Settings
) -> None:
    first = make_case(db, (fresh_card_no("CCB"), "45000.00"))
    viewer = make_user(db, role=Role.supervisor, unit=db.get_one(Unit, first.unit_id))
    events = _stream(db, FakeRequest(), settings, viewer)
    taker = make_user(db, unit=db.get_one(Unit, first.unit_id))

    async def run() -> list[str]:
        seen = [await anext(events) for _ in range(3)]  # retry, then both panels
        marker = latest_event(db)
        second = create_case(
            db,
            data=CaseCreate.model_validate(case_payload()),
            user=taker,
            zone=ZoneInfo("Asia/Shanghai"),
        )[1]
        db.flush()
        assert latest_event(db) > marker
        seen.append(await anext(events))
        seen.append(second.case_no)
        return seen

    retry, queue, overview, changed, case_no = asyncio.run(run())
    assert retry == "retry: 2000\n\n"
    assert queue.startswith("event: queue\n")
    assert first.case_no in queue
    assert overview.startswith("event: overview\n")
    # The new case changes the queue (and the overview after it), each sent once.
    assert changed.startswith("event: queue\n")
    assert case_no in changed


def test_the_stream_ends_when_the_client_goes_away(db: Session, settings: Settings) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "45000.00"))
    viewer = make_user(db, role=Role.supervisor, unit=db.get_one(Unit, case.unit_id))
    request = FakeRequest()
    events = _stream(db, request, settings, viewer)

    async def run() -> list[str]:
        seen = [await anext(events) for _ in range(3)]
        request.gone = True
        return seen + [event async for event in events]

    assert len(asyncio.run(run())) == 3


def test_the_case_page_masks_the_victims_numbers_and_reveals_one_on_request(
    client: TestClient, db: Session
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "45000.00"))
    victim_card = card_no("ICBC", VICTIM_SERIAL)
    boss = sign_in(client, make_user(db, role=Role.supervisor, unit=db.get_one(Unit, case.unit_id)))
    page = client.get(f"/dashboard/cases/{case.case_no}")
    assert page.status_code == 200, page.text
    for clear in (ID_NO, "13800138000", victim_card):
        assert clear not in page.text
    assert "1101**********002X" in page.text
    assert "+86 138****8000" in page.text
    assert f"{victim_card[:4]}{'*' * 11}{victim_card[-4:]}" in page.text
    url = f"/dashboard/cases/{case.case_no}/reveal"
    assert page.text.count(f'hx-post="{url}"') == 3  # ID number, phone, the victim's card
    assert 'hx-vals=\'{"field": "victim.id_no"}\'' in page.text

    refused = client.post(url, data={"field": "victim.id_no"})
    assert refused.status_code == 403, "no CSRF token"
    shown = client.post(url, data={"field": "victim.id_no", "csrf_token": boss.csrf})
    assert shown.status_code == 200, shown.text
    assert ID_NO in shown.text
    assert shown.headers["cache-control"] == "no-store"
    account_id = db.scalar(
        select(CaseAccount.account_id).where(CaseAccount.case_id == case.id, CaseAccount.level == 0)
    )
    card = client.post(
        url, data={"field": "account_no", "account_id": str(account_id), "csrf_token": boss.csrf}
    )
    assert victim_card in card.text
    reveals = db.scalars(select(Event).where(Event.case_id == case.id, Event.kind == REVEALED))
    assert [e.data for e in reveals] == [
        {"field": "victim.id_no"},
        {"field": "account_no", "account_id": account_id},
    ]
    assert ID_NO not in client.get(f"/dashboard/cases/{case.case_no}").text


def test_a_reveal_is_no_change_for_the_live_panels(db: Session) -> None:
    """Else the panels re-render and mask again what the supervisor has just revealed."""
    case = make_case(db, (fresh_card_no("CCB"), "45000.00"))
    boss = make_user(db, role=Role.supervisor, unit=db.get_one(Unit, case.unit_id))
    before = latest_event(db, case.id), latest_event(db)
    value = reveal_value(
        db, case=case, field=PersonalField.victim_id_no, account_id=None, user=boss
    )
    db.flush()
    assert value == case_payload()["victim"]["id_no"]
    assert (latest_event(db, case.id), latest_event(db)) == before


def _tile(page: str) -> str:
    found = re.search(r'<div class="tile good" id="interception"(.*?)</div>', page, re.S)
    assert found is not None, page
    return found.group(1)


def _queue_cell(page: str, case_no: str) -> str:
    row = re.search(rf'<tr data-case="{case_no}">(.*?)</tr>', page, re.S)
    assert row is not None
    cell = re.search(r'<td class="num interception"[^>]*>(.*?)</td>', row.group(1), re.S)
    assert cell is not None
    return cell.group(1).strip()


def test_the_case_page_and_the_queue_show_the_share_of_what_was_still_there(
    client: TestClient, db: Session
) -> None:
    """`—` until a bank reports; then held ÷ still on the accounts at the report, in both
    languages, with its explanation as the title."""
    first, second = fresh_card_no("CCB"), fresh_card_no("CMB")
    case = make_case(db, (first, "100000.00"))
    boss = make_user(db, role=Role.supervisor, unit=db.get_one(Unit, case.unit_id))
    sign_in(client, boss)
    page = client.get(f"/dashboard/cases/{case.case_no}").text
    assert "<strong>—</strong>" in _tile(page)
    assert _queue_cell(client.get("/dashboard").text, case.case_no) == "—"

    [stop] = instructions(db, case)
    left = (case.received_at + dt.timedelta(seconds=30)).isoformat()
    moved = {**onward("CMB", second, "60000.00"), "occurred_at": left}
    report(
        client,
        db,
        stop,
        outcome="stopped_partial",
        amount_stopped="40000.00",
        onward_transfers=[moved],
    )
    tile = _tile(client.get(f"/dashboard/cases/{case.case_no}").text)
    assert "Intercepted" in tile
    assert "<strong>40%</strong>" in tile
    assert "¥40,000.00 of ¥100,000.00" in tile
    assert "counted once" in tile  # the title explains what it counts
    assert _queue_cell(client.get("/dashboard").text, case.case_no) == "40%"

    boss.language = "zh-CN"
    db.flush()
    tile = _tile(client.get(f"/dashboard/cases/{case.case_no}").text)
    assert "拦截比例" in tile
    assert "只计一次" in tile
