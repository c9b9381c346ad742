"""The case's live status page and its stream of updates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import nullcontext
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit
from app.casefile.fates import Fate
from app.cases.models import Account
from app.dispatch.models import Instruction, InstructionState, Outcome
from app.intake.live import status_events
from app.intake.status import CaseStatusView, read_status
from app.sse import sse_event
from tests import casework
from tests.factories import (
    VICTIM_SERIAL,
    bearer,
    card_no,
    fresh_card_no,
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


def test_every_transfer_is_listed_with_its_account_s_fate(client: TestClient, db: Session) -> None:
    shared, own = fresh_card_no("CCB"), fresh_card_no("CMB")
    first = casework.make_case(db, (shared, "45000.00"))
    second = casework.make_case(db, (shared, "45000.00"), (own, "45000.00"))
    view = read_status(db, case_id=second.id)
    fates = {r.account_no: r.fate for r in view.transfers}
    assert [r.amount for r in view.transfers] == [Decimal("45000.00")] * 2
    assert {k: f.fate if f else None for k, f in fates.items()} == {
        shared: Fate.held_elsewhere,
        own: Fate.waiting,
    }
    assert fates[shared] is not None
    assert fates[shared].held_by_case == first.case_no
    assert (view.total_amount, view.amount_held_elsewhere) == (Decimal("90000.00"), 45000)
    assert view.victim_name == "陈**"
    # The page says it in words, in the reader's language.
    unit = db.get_one(Unit, second.unit_id)
    sign_in(client, make_user(db, role=Role.call_taker, unit=unit, language="en"))
    page = client.get(f"/intake/cases/{second.case_no}").text
    assert page.count('<tr class="transfer"') == 2
    assert "held by another case" in page
    assert first.case_no in page
    assert "holds ¥45,000.00" in page
    assert 'id="total-held-elsewhere">¥45,000.00' in page
    assert "陈女士" not in page
    assert "陈**" in page


def test_accounts_a_bank_named_later_are_listed_by_level(client: TestClient, db: Session) -> None:
    card, onward_card = fresh_card_no("CCB"), fresh_card_no("CMB")
    case = casework.make_case(db, (card, "100000.00"))
    [stop] = casework.instructions(db, case)
    casework.report(
        client, db, stop, onward_transfers=[casework.onward("CMB", onward_card, "60000.00")]
    )
    view = read_status(db, case_id=case.id)
    assert [(level, [r.account_no for r in rows]) for level, rows in view.levels] == [
        (1, [card]),
        (2, [onward_card]),
    ]
    assert view.amount_stopped == Decimal("100000.00")  # report's default: stopped in full


def _bounce(db: Session, stop: Instruction, field: str) -> None:
    stop.state, stop.outcome, stop.mismatch_field = "done", "mismatch", field
    db.flush()


def test_a_mismatch_shows_the_field_and_the_value_sent_and_its_resend_goes_under_it(
    call_taker: SignedIn, db: Session
) -> None:
    case_no = make_case(db, transfers=2, user=call_taker.user)
    stops = [i for i in instructions_of(db, case_no) if i.kind == "stop_payment"]
    _bounce(db, stops[0], "holder_name")
    page = call_taker.client.get(f"/intake/cases/{case_no}").text
    assert f'id="resend-{stops[0].id}-value" name="holder_name" value="刘某"' in page
    assert '<strong class="sent-value">刘某</strong>' in page
    resent = call_taker.client.post(
        f"/api/v1/cases/{case_no}/instructions/{stops[0].id}/resend",
        headers={**call_taker.api_headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"holder_name": "刘某某"},
    )
    assert resent.status_code == 201, resent.text
    rows = read_status(db, case_id=stops[0].case_id).instructions
    assert [(r.id, r.depth) for r in rows][:3] == [
        (stops[0].id, 0),
        (resent.json()["id"], 1),  # under its original, not after the second stop-payment
        (stops[1].id, 0),
    ]
    assert rows[1].corrects == "holder_name"
    assert not rows[0].resendable
    page = call_taker.client.get(f"/intake/cases/{case_no}").text
    assert "resend-" + str(stops[0].id) not in page
    assert "Resent with the holder name corrected to 刘某某" in page


def test_a_bounced_account_number_is_shown_but_not_offered_for_resend(
    call_taker: SignedIn, db: Session
) -> None:
    case_no = make_case(db, user=call_taker.user)
    [stop] = [i for i in instructions_of(db, case_no) if i.kind == "stop_payment"]
    _bounce(db, stop, "account_no")
    row = next(r for r in read_status(db, case_id=stop.case_id).instructions if r.id == stop.id)
    assert row.bounced
    assert not row.resendable
    page = call_taker.client.get(f"/intake/cases/{case_no}").text
    assert "account number does not match" in page
    assert "cannot be corrected here" in page
    assert f'id="resend-{stop.id}' not in page
