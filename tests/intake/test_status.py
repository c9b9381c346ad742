"""The case's live status page and its stream of updates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import nullcontext

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.cases.models import Account
from app.dispatch.models import InstructionState, Outcome
from app.intake.live import CaseStatusView, read_status, status_events
from app.sse import sse_event
from tests.factories import (
    VICTIM_SERIAL,
    bearer,
    card_no,
    instructions_of,
    make_case,
    make_unit,
    make_user,
)
from tests.intake.conftest import SignedIn, sign_in


def test_the_status_page_lists_each_instruction(call_taker: SignedIn, db: Session) -> None:
    case_no = make_case(db, transfers=2, user=call_taker.user)
    page = call_taker.client.get(f"/intake/cases/{case_no}")
    assert page.status_code == 200, page.text
    assert page.text.count('data-state="pending"') == 3  # two stop-payments, one registration
    assert f'sse-connect="/intake/cases/{case_no}/live"' in page.text


def test_another_units_case_is_not_found(client: TestClient, db: Session) -> None:
    case_no = make_case(db)
    sign_in(client, make_user(db, role=Role.call_taker))
    assert client.get(f"/intake/cases/{case_no}").status_code == 404


def test_a_mismatch_offers_a_one_step_resend(call_taker: SignedIn, db: Session) -> None:
    case_no = make_case(db, user=call_taker.user)
    stop = next(i for i in instructions_of(db, case_no) if i.kind == "stop_payment")
    stop.state, stop.outcome, stop.mismatch_field = "done", "mismatch", "holder_name"
    db.flush()
    page = call_taker.client.get(f"/intake/cases/{case_no}")
    assert f'data-instruction="{stop.id}" data-field="holder_name"' in page.text
    assert "does not match" in page.text


def test_the_victims_own_account_is_masked_and_the_suspects_shown(
    client: TestClient, db: Session
) -> None:
    unit = make_unit(db)
    taker = make_user(db, unit=unit)
    case_no = make_case(db, user=taker)
    [stop] = [i for i in instructions_of(db, case_no) if i.kind == "stop_payment"]
    victim_card = card_no("ICBC", VICTIM_SERIAL)
    boss = bearer(db, make_user(db, role=Role.supervisor, unit=unit))
    asked = client.post(
        f"/api/v1/cases/{case_no}/queries",
        headers=boss,
        json={"institution": "ICBC", "account_no": victim_card},
    )
    assert asked.status_code == 201, asked.text
    sign_in(client, taker)
    page = client.get(f"/intake/cases/{case_no}")
    assert victim_card not in page.text
    assert f"{victim_card[:4]}{'*' * 11}{victim_card[-4:]}" in page.text
    mule = db.scalar(select(Account.account_no).where(Account.id == stop.account_id))
    assert mule is not None
    assert mule in page.text


class FakeRequest:
    """What the stream asks of the request: whether the client has gone."""

    def __init__(self) -> None:
        self.gone = False

    async def is_disconnected(self) -> bool:
        return self.gone


def _stream(db: Session, case_no: str, request: FakeRequest) -> AsyncIterator[str]:
    case_id = instructions_of(db, case_no)[0].case_id

    def render(view: CaseStatusView) -> str:
        return ",".join(f"{i.kind}:{i.state}" for i in view.instructions)

    return status_events(
        request,  # type: ignore[arg-type]
        factory=lambda: nullcontext(db),
        case_id=case_id,
        render=render,
        poll_s=0.01,
    )


def test_the_stream_sends_each_change_once_and_ends_when_all_is_settled(db: Session) -> None:
    case_no = make_case(db)
    events = _stream(db, case_no, FakeRequest())

    async def run() -> list[str]:
        seen = [await anext(events)]
        for instruction in instructions_of(db, case_no):
            instruction.state = InstructionState.done
            instruction.outcome = (
                Outcome.stopped_full if instruction.kind == "stop_payment" else Outcome.registered
            )
        db.flush()
        seen += [event async for event in events]
        return seen

    seen = asyncio.run(run())
    assert seen == [
        "event: status\ndata: stop_payment:pending,register:pending\n\n",
        "event: status\ndata: stop_payment:done,register:done\n\n",
        "event: end\ndata: settled\n\n",
    ]
    assert read_status(db, case_id=instructions_of(db, case_no)[0].case_id).settled


def test_the_stream_ends_when_the_client_goes_away(db: Session) -> None:
    request = FakeRequest()
    events = _stream(db, make_case(db), request)

    async def run() -> list[str]:
        first = await anext(events)
        request.gone = True
        return [first] + [event async for event in events]

    assert len(asyncio.run(run())) == 1


def test_each_line_of_a_fragment_is_its_own_data_field() -> None:
    assert (
        sse_event("status", "<tr>\n<td>1</td>") == "event: status\ndata: <tr>\ndata: <td>1</td>\n\n"
    )
