"""The hostile data of the page tests, put in through the service's own doors: intake and
drafts by a call-taker's API token, bank outcomes (with onward holder names) as callbacks
signed with the institution's secret, a freeze and an escalation's note by a supervisor.
Only what has no door of its own is written to the database: an instruction escalated (a
worker's doing), and staff with hostile display and token names (an admin's)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role, Unit
from app.auth.service import create_api_token
from app.cases.models import Case
from app.db import transaction, utcnow
from app.dispatch.models import Instruction
from tests.callbacks.signing import outcome, signed
from tests.casework import instructions
from tests.e2e.stack import Stack
from tests.factories import bearer, case_payload, fresh_card_no, make_user, transfer_payload

PER_CASE = 9


@dataclass
class HostileCase:
    case_no: str
    payloads: list[str]
    cards: list[str]
    holders: list[str] = field(default_factory=list)  # level 1 (trimmed) and onward


@dataclass
class Seeded:
    taker: str
    boss: str
    admin: str
    boss_token: dict[str, str]
    cases: list[HostileCase]
    draft_key: str


def _ok(answer: httpx.Response, status: int = 200) -> httpx.Response:
    assert answer.status_code == status, answer.text
    return answer


def _stop(db: Session, case: HostileCase, card: str) -> Instruction:
    row = db.scalars(select(Case).where(Case.case_no == case.case_no)).one()
    [stop] = instructions(db, row, "stop_payment", account_no=card)
    return stop


def _report(stack: Stack, sessions: sessionmaker[Session], case: HostileCase) -> int:
    """Each level-1 stop but the last answered by the bank with one onward transfer; the
    last is escalated instead, as a worker does after its attempts. Returns its id."""
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as db, httpx.Client(base_url=stack.api_url, timeout=30) as api:
        for n, card in enumerate(case.cards[:-1]):
            holder = case.payloads[-1 - n]
            onward = {
                "institution": "ABC",
                "account_no": fresh_card_no("ABC"),
                "holder_name": holder,
                "amount": "100.00",
                "occurred_at": (now - dt.timedelta(minutes=5)).isoformat(),
                "reference": f"T{uuid.uuid4().hex[:12]}",
            }
            data = outcome(_stop(db, case, card), onward_transfers=[onward])
            body, headers = signed(db, "CCB", data)
            _ok(api.post("/api/v1/callbacks/CCB", content=body, headers=headers))
            case.holders.append(holder)  # a bank's text is kept as sent
        last = _stop(db, case, case.cards[-1])
        last.state, last.attempts, last.last_error = "escalated", 4, case.payloads[0]
        last.last_failure = "other"
        last.escalated_at = utcnow() - dt.timedelta(minutes=3)
        return last.id


def _make_case(api: httpx.Client, chunk: list[str]) -> HostileCase:
    cards = [fresh_card_no("CCB") for _ in chunk]
    transfers = [
        transfer_payload(to={"institution": "CCB", "account_no": card, "holder_name": p})
        for card, p in zip(cards, chunk, strict=True)
    ]
    victim = {"name": chunk[0], "id_no": "11010519491231002X", "phone": "13800138000"}
    body = case_payload(transfers=transfers, victim=victim, narrative="\n".join(chunk))
    case_no = _ok(api.post("/api/v1/cases", json=body), 201).json()["case_no"]
    return HostileCase(case_no, chunk, cards, [p.strip() for p in chunk])


def _drafts(api: httpx.Client, payloads: list[str]) -> str:
    """Two drafts full of payloads: the form shows one and lists the other's victim."""
    fields = {"victim.name": payloads[0], "narrative": "\n".join(payloads)}
    fields |= {f"transfers.{i}.to.holder_name": p for i, p in enumerate(payloads)}
    keys = [f"draft-{uuid.uuid4().hex}" for _ in range(2)]
    for key in keys:
        _ok(api.put(f"/api/v1/drafts/{key}", json={"fields": fields}))
    return keys[0]


def seed(stack: Stack, sessions: sessionmaker[Session], payloads: list[str]) -> Seeded:
    with transaction(sessions) as db:
        taker = make_user(db, role=Role.call_taker)
        unit = db.get_one(Unit, taker.unit_id)
        boss = make_user(db, role=Role.supervisor, unit=unit)
        admin = make_user(db, role=Role.admin, unit=unit)
        taker_token, boss_token = bearer(db, taker), bearer(db, boss)
        for text in payloads:
            person = make_user(db, unit=unit)
            person.display_name = text
            create_api_token(db, user=person, name=text, max_age_s=3600)
        names = (taker.username, boss.username, admin.username)
    with stack.api(taker_token) as api:
        chunks = [payloads[i : i + PER_CASE] for i in range(0, len(payloads), PER_CASE)]
        cases = [_make_case(api, chunk) for chunk in chunks]
        draft_key = _drafts(api, payloads)
    with stack.api(boss_token) as api:
        for case in cases:
            escalated = _report(stack, sessions, case)
            document_no = next(p for p in case.payloads if len(p.strip()) <= 64)
            freeze = {"institution": "CCB", "account_no": case.cards[0], "document_no": document_no}
            _ok(api.post(f"/api/v1/cases/{case.case_no}/freezes", json=freeze), 201)
            note = {"note": case.payloads[1]}
            _ok(api.post(f"/api/v1/dashboard/escalations/{escalated}/handled", json=note))
    return Seeded(*names, boss_token=boss_token, cases=cases, draft_key=draft_key)
