"""A stream of cases into the running stack, and the reckoning afterwards: what was
acknowledged, what the database holds, what the simulator's ledger says was done."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import IdempotencyKey
from app.dispatch.models import Instruction
from tests.e2e.cases import account_at
from tests.factories import case_payload, transfer_payload

BANKS = ("ICBC", "CCB", "ABC", "BOC", "BOCOM", "CMB", "CIB", "SPDB", "CITIC", "CMBC")
FINAL = ("done", "expired")


@dataclass
class Sent:
    key: str  # the request's Idempotency-Key
    status: int | None  # None: no answer at all (connection refused, timed out)
    case_no: str | None
    problem_type: str = ""


@dataclass
class CaseStream:
    """Posts a case of `accounts` stop-payments every 1/`rate` s from a thread of its own."""

    api_url: str
    headers: dict[str, str]
    rate: float = 2.0
    accounts: int = 2
    banks: tuple[str, ...] = BANKS
    sent: list[Sent] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> CaseStream:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Sent]:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=60)
        return self.sent

    def _run(self) -> None:
        with httpx.Client(base_url=self.api_url, headers=self.headers, timeout=15) as api:
            n = 0
            while not self._stop.is_set():
                started = time.monotonic()
                banks = self.banks
                targets = [account_at(banks[(n + i) % len(banks)]) for i in range(self.accounts)]
                self.sent.append(self._post(api, targets))
                n += 1
                self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - started)))

    @staticmethod
    def _post(api: httpx.Client, targets: list[dict[str, Any]]) -> Sent:
        key = uuid.uuid4().hex
        payload = case_payload(transfers=[transfer_payload(to=t) for t in targets])
        try:
            answer = api.post("/api/v1/cases", json=payload, headers={"Idempotency-Key": key})
        except httpx.HTTPError:
            return Sent(key, None, None)
        body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
        case_no = body.get("case_no") if answer.status_code == 201 else None
        return Sent(key, answer.status_code, case_no, str(body.get("title", "")))


@dataclass
class Reckoning:
    """The fault's report, the figures issue 9 asks for."""

    fault: str
    cases_sent: int  # acknowledged with 201
    cases_refused: int  # answered 4xx/5xx (503 while the database was down)
    cases_found: int  # committed, as the database shows
    acknowledged_missing: int  # 201 but not in the database: must be 0
    instructions: int
    lost: int  # instructions of committed cases the institution never applied: must be 0
    duplicate_effects: int  # applied more than once: must be 0
    drain_s: float  # from the end of the fault until every instruction was final

    def row(self) -> str:
        return (
            f"| {self.fault} | {self.cases_sent} | {self.cases_refused} | {self.cases_found} "
            f"| {self.acknowledged_missing} | {self.instructions} | {self.lost} "
            f"| {self.duplicate_effects} | {self.drain_s:.1f} |"
        )


def committed(factory: sessionmaker[Session], sent: list[Sent]) -> dict[str, int]:
    """Idempotency-Key → case id, for the requests whose case the database holds."""
    keys = [s.key for s in sent]
    with factory() as db:
        rows = db.execute(
            select(IdempotencyKey.key, IdempotencyKey.case_id).where(
                IdempotencyKey.key.in_(keys), IdempotencyKey.case_id.is_not(None)
            )
        ).all()
    return {key: case_id for key, case_id in rows if case_id is not None}


def unfinished(factory: sessionmaker[Session], case_ids: list[int]) -> list[Instruction]:
    with factory() as db:
        return list(
            db.scalars(
                select(Instruction).where(
                    Instruction.case_id.in_(case_ids),
                    Instruction.state.not_in(FINAL),
                )
            )
        )


def drain(factory: sessionmaker[Session], case_ids: list[int], *, timeout: float) -> float:
    """Seconds until every instruction of the cases is final; fails after `timeout`."""
    started = time.monotonic()
    while unfinished(factory, case_ids):
        if time.monotonic() - started > timeout:
            left = unfinished(factory, case_ids)
            states = [(i.id, i.state, i.last_error) for i in left[:5]]
            raise AssertionError(f"{len(left)} not final after {timeout} s: {states}")
        time.sleep(0.25)
    return time.monotonic() - started


def reckon(
    fault: str,
    *,
    factory: sessionmaker[Session],
    simulator_url: str,
    sent: list[Sent],
    drain_s: float,
    changed_after: int = 0,
) -> Reckoning:
    """`changed_after`: finished instructions a fault changed again, counted as duplicate
    effects (the institution's ledger cannot see those)."""
    found = committed(factory, sent)
    with factory() as db:
        keys = list(
            db.scalars(
                select(Instruction.idempotency_key).where(Instruction.case_id.in_(found.values()))
            )
        )
    ledger = httpx.get(f"{simulator_url}/admin/ledger", params={"entry": "applied"}, timeout=30)
    applied = Counter(e["idempotency_key"] for e in ledger.json() if e["entry"] == "applied")
    acknowledged = {s.key for s in sent if s.status == 201}
    return Reckoning(
        fault=fault,
        cases_sent=len(acknowledged),
        cases_refused=sum(1 for s in sent if s.status is not None and s.status != 201),
        cases_found=len(found),
        acknowledged_missing=len(acknowledged - set(found)),
        instructions=len(keys),
        lost=sum(1 for k in keys if applied[k] == 0),
        duplicate_effects=sum(1 for k in keys if applied[k] > 1) + changed_after,
        drain_s=drain_s,
    )


REPORT_HEADER = (
    "| fault | cases acknowledged | refused | found in the database | acknowledged but missing "
    "| instructions | lost | duplicate effects | drain (s) |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)
