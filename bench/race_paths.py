"""The race benchmark's two paths over the same live money: ours (the full stack from the POST)
and the ideal client (straight to the simulator, each stop the instant it is known)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from bench.race_figures import PathResult
from bench.support.cases import VICTIM, card_no
from bench.support.db import libpq
from bench.support.simulator import ledger, reset_simulator
from bench.support.stack import Stack

QUIET_S = 3.0  # the case is over when nothing is open and no stop was created for this long
POLL_S = 0.1
OUTAGE_S = 60  # --degraded: one institution hangs this long, then recovers
ROWS_SQL = """
SELECT i.id, i.parent_id, ca.level, i.idempotency_key, i.kind, inst.code, a.account_no,
       i.amount_requested, i.holder_name, i.transaction_time,
       extract(epoch FROM i.first_attempt_at), extract(epoch FROM i.completed_at)
FROM instruction i
JOIN "case" c ON c.id = i.case_id
JOIN institution inst ON inst.id = i.institution_id
LEFT JOIN account a ON a.id = i.account_id
LEFT JOIN case_account ca ON ca.case_id = i.case_id AND ca.account_id = i.account_id
WHERE c.case_no = %s ORDER BY i.id
"""
OPEN_SQL = """
SELECT count(*) FILTER (WHERE i.state IN ('pending', 'sent', 'escalated')),
       extract(epoch FROM max(i.created_at)), extract(epoch FROM now())
FROM instruction i JOIN "case" c ON c.id = i.case_id WHERE c.case_no = ANY(%s)
"""


@dataclass(frozen=True)
class CaseSpec:
    """One reported case: the seed of its live money and the reporting delay."""

    seed: int
    delay_s: float
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Loaded:
    spec: CaseSpec
    schedule: dict[str, Any]
    started: float  # epoch seconds: the POST (ours) or the first send (ideal)

    @property
    def loss(self) -> Decimal:
        return Decimal(self.schedule["loss"])

    def reachable(self) -> Decimal:
        """What was on the mule accounts at the report, had nobody stopped anything."""
        t0 = dt.datetime.fromisoformat(self.schedule["t0"])
        report = t0 + dt.timedelta(seconds=self.spec.delay_s)
        return sum(
            (
                Decimal(p["amount"])
                for p in self.schedule["parcels"]
                if dt.datetime.fromisoformat(p["arrives_at"])
                <= report
                < dt.datetime.fromisoformat(p["departs_at"])
            ),
            Decimal("0.00"),
        )


@dataclass(frozen=True)
class Sent:
    """A stop our adapters sent: what the ideal reuses for the same account."""

    key: str
    level: int
    institution: str
    account_no: str
    amount: Decimal
    holder_name: str | None
    transaction_time: dt.datetime | None


def load_live(stack: Stack, spec: CaseSpec) -> dict[str, Any]:
    """Draw and play the case's live money, its last transfer `delay_s` ago."""
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=spec.delay_s)
    body = {"seed": spec.seed, "t0": t0.isoformat(), "parameters": spec.parameters}
    with stack.simulator() as sim:
        response = sim.post("/admin/live", json=body)
        response.raise_for_status()
        schedule: dict[str, Any] = response.json()
        return schedule


def start_outage(stack: Stack, institution: str) -> None:
    with stack.simulator() as sim:
        body = {"institution": institution, "mode": "hang", "seconds": OUTAGE_S}
        sim.post("/admin/outage", json=body).raise_for_status()


def richest_institution(schedule: dict[str, Any]) -> str:
    """The institution of the level-1 account the victim paid most: --degraded hangs it."""
    paid: Counter[str] = Counter()
    for t in schedule["victim_transfers"]:
        paid[t["to"]["institution"]] += int(Decimal(t["amount"]))
    return paid.most_common(1)[0][0]


def report_body(spec: CaseSpec, schedule: dict[str, Any]) -> dict[str, Any]:
    """The case the call-taker reports: the victim's transfers of the schedule."""
    victim = {
        "institution": "ICBC",
        "account_no": card_no("ICBC", 800_000_000 + spec.seed % 10**8),
        "holder_name": "陈女士",
    }
    transfers = [
        {
            "occurred_at": t["occurred_at"],
            "amount": t["amount"],
            "from": victim,
            "to": {k: t["to"][k] for k in ("institution", "account_no", "holder_name")},
            "channel": "mobile_banking",
            "reference": t["reference"],
        }
        for t in schedule["victim_transfers"]
    ]
    return {
        "received_at": dt.datetime.now(dt.UTC).isoformat(),
        "channel": "phone_call",
        "victim": VICTIM,
        "fraud_type": "brushing_rebate",
        "narrative": "刷单返利；资金在多级账户间持续转移。",
        "transfers": transfers,
        "contacts": [],
    }


def post_case(api: httpx.Client, body: dict[str, Any]) -> str:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    response = api.post("/api/v1/cases", content=json.dumps(body).encode(), headers=headers)
    if response.status_code != 201:
        raise RuntimeError(f"intake answered {response.status_code}: {response.text[:500]}")
    return str(response.json()["case_no"])


def wait_quiet(url: str, case_nos: list[str], timeout: float) -> None:
    """Until no instruction of the cases is open and none was created for QUIET_S."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        while True:
            row = conn.execute(OPEN_SQL, (case_nos,)).fetchone()
            assert row is not None
            open_, newest, now = row
            if open_ == 0 and newest is not None and float(now) - float(newest) >= QUIET_S:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{case_nos}: {open_} instructions still open at the time-out")
            time.sleep(POLL_S)


def run_ours(
    stack: Stack,
    url: str,
    token: str,
    specs: list[CaseSpec],
    *,
    spacing_s: float,
    degraded: bool,
    timeout: float,
) -> tuple[list[Loaded], list[str]]:
    """Reset, then report each case (its live money loaded first) `spacing_s` apart; wait
    until all are quiet. (the cases as loaded, their case numbers)."""
    reset_simulator(stack)
    loaded, case_nos = [], []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with stack.api(headers) as api:
        start = time.monotonic()
        for i, spec in enumerate(specs):
            time.sleep(max(0.0, start + i * spacing_s - time.monotonic()))
            schedule = load_live(stack, spec)
            if degraded and i == 0:
                start_outage(stack, richest_institution(schedule))
            body = report_body(spec, schedule)
            started = time.time()
            case_nos.append(post_case(api, body))
            loaded.append(Loaded(spec, schedule, started))
    wait_quiet(url, case_nos, timeout)
    return loaded, case_nos


def ours_result(
    stack: Stack, url: str, case_no: str, started: float
) -> tuple[PathResult, list[Sent]]:
    """What ours stopped (the ledger), the waits per level, and the stops it sent."""
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(ROWS_SQL, (case_no,)).fetchall()
    by_id = {r[0]: r for r in rows}
    waits: dict[int, list[float]] = {}
    sent: list[Sent] = []
    for r in rows:
        if r[4] != "stop_payment" or r[10] is None:
            continue
        parent = by_id.get(r[1]) if r[1] is not None else None
        origin = started if parent is None or parent[11] is None else float(parent[11])
        waits.setdefault(r[2], []).append(max(0.0, float(r[10]) - origin))
        sent.append(Sent(r[3], r[2], r[5], r[6], r[7], r[8], r[9]))
    entries = ledger(stack, case_no)
    completed = {r[3] for r in rows if r[11] is not None}
    return path_result(entries, completed, waits), sent


def path_result(
    entries: list[dict[str, Any]], completed: set[str], waits: dict[int, list[float]]
) -> PathResult:
    """Stopped money by the `applied` stop-payments; each key applied once, none missing."""
    applied = [e for e in entries if e["entry"] == "applied"]
    counts = Counter(e["idempotency_key"] for e in applied)
    stopped = sum(
        (Decimal(e["amount_stopped"] or "0") for e in applied if e["kind"] == "stop_payment"),
        Decimal("0.00"),
    )
    stops = sum(e["kind"] == "stop_payment" for e in applied)
    once = all(n == 1 for n in counts.values()) and completed <= set(counts)
    return PathResult(stopped, stops, once, waits)
