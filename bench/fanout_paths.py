"""The fan-out benchmark's two paths to the same institutions: ours (the case posted to the
API, the worker sending its instructions) and the bare client (bench/fanout_bare.py: the very
requests our adapters sent, straight from aiohttp to the simulator), and the CPU each used."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from bench.fanout_bare import BarePath, Sent, run_bare
from bench.fanout_faults import FaultMix
from bench.support.cases import LEVEL_SIZES, fanout_case
from bench.support.cpu import cpu_delta, cpu_seconds
from bench.support.db import libpq
from bench.support.pgserver import OwnPostgres
from bench.support.simulator import drawn_ms, reset_simulator, settled_ledger
from bench.support.stack import Stack

POLL_S = 0.05
QUIET_S = 0.25  # after the last callback: the stack is done when it stays this quiet ...
QUIET_CPU_S = 0.02  # ... using at most this much CPU in a window of QUIET_S, twice running
QUIET_MAX_S = 5.0
STACK = ("api", "worker", "beat", "postgres")
# The bench's own statements carry a /* bench */ comment: the profile leaves them out.
PROGRESS_SQL = """/* bench */
SELECT count(*), count(i.acked_at), count(i.completed_at)
FROM instruction i
JOIN "case" c ON c.id = i.case_id
JOIN institution inst ON inst.id = i.institution_id
WHERE c.case_no = %s AND inst.code <> ALL(%s::text[])
"""
SENT_SQL = """/* bench */
SELECT i.id, i.idempotency_key, i.kind, c.case_no, inst.code, a.account_no, i.holder_name,
       i.amount_requested, i.transaction_time, i.document_no, i.attempts
FROM instruction i
JOIN "case" c ON c.id = i.case_id
JOIN institution inst ON inst.id = i.institution_id
LEFT JOIN account a ON a.id = i.account_id
WHERE c.case_no = %s
ORDER BY i.id
"""


@dataclass(frozen=True)
class OurPath:
    case_no: str
    t201: float  # epoch seconds
    post_ms: float
    instructions: list[dict[str, Any]]
    levels: dict[tuple[str, str], int]
    ledger: list[dict[str, Any]]


@dataclass(frozen=True)
class Run:
    ours: OurPath
    bare: BarePath
    sent: list[Sent]
    cpu_ours: dict[str, float]  # CPU seconds per process (cpu_seconds) while our path ran
    cpu_bare: dict[str, float]


# --- Our path ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """What every case needs: the stack, its database on the bench's own server, the one
    connection the bench holds to it (kept open, so its backend's CPU is told apart), and
    how to watch the case."""

    stack: Stack
    url: str
    token: str
    server: OwnPostgres
    watch: psycopg.Connection[Any]
    poll: str = "db"
    timeout: float = 120.0
    faults: FaultMix | None = None

    @property
    def skip(self) -> frozenset[str]:
        """Institutions whose instructions are never done: the hanging one of the mix."""
        return frozenset() if self.faults is None else frozenset({self.faults.hanging})

    def cpu(self) -> dict[str, float]:
        return cpu_seconds(self.stack, self.server, {self.watch.info.backend_pid})


def read_case(api: httpx.Client, case_no: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/cases/{case_no}")
    response.raise_for_status()
    case: dict[str, Any] = response.json()
    return case


def poll_api(bench: Bench, api: httpx.Client, case_no: str, field: str, deadline: float) -> None:
    """Until every instruction has `field` set, by `GET /api/v1/cases/{case_no}`."""
    while not all(
        i[field] is not None
        for i in read_case(api, case_no)["instructions"]
        if i["institution"] not in bench.skip
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{case_no}: instructions without {field} after the time-out")
        time.sleep(POLL_S)


def poll_db(bench: Bench, case_no: str, field: str, deadline: float) -> None:
    """Until every instruction has `field` set, by one aggregate query on our database."""
    column = {"acked_at": 1, "completed_at": 2}[field]
    while True:
        row = bench.watch.execute(PROGRESS_SQL, (case_no, list(bench.skip))).fetchone()
        if row is not None and row[0] > 0 and row[column] == row[0]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{case_no}: instructions without {field} after time-out")
        time.sleep(POLL_S)


def wait_quiet(bench: Bench) -> None:
    """After the last callback: until the stack has finished what followed it (roll-up,
    relay, ...), that is until it uses at most QUIET_CPU_S in QUIET_S twice running."""
    deadline = time.monotonic() + QUIET_MAX_S
    last, quiet = bench.cpu(), 0
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(QUIET_S)
        now = bench.cpu()
        quiet = quiet + 1 if sum(now[n] - last[n] for n in STACK) <= QUIET_CPU_S else 0
        last = now


def level_map(case: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {
        (account["institution"], account["account_no"]): level["level"]
        for level in case["levels"]
        for account in level["accounts"]
    }


def check_shape(case: dict[str, Any]) -> None:
    """The case intake made: 40/60/57 suspects at levels 1-3, one instruction each, plus one."""
    per_level = Counter(level for level in level_map(case).values() if level > 0)
    shape = tuple(per_level[level] for level in range(1, len(LEVEL_SIZES) + 1))
    if shape != LEVEL_SIZES or len(case["instructions"]) != sum(LEVEL_SIZES) + 1:
        raise RuntimeError(f"unexpected case: levels {shape}, {len(case['instructions'])} instr.")


def post_case(api: httpx.Client) -> tuple[str, float, float]:
    """Post the fan-out case: its number, when the 201 came (epoch s), the request's ms."""
    body = json.dumps(fanout_case(uuid.uuid4().int % 10**9, dt.datetime.now(dt.UTC))).encode()
    sent = time.time()
    response = api.post(
        "/api/v1/cases", content=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    t201 = time.time()
    if response.status_code != 201:
        raise RuntimeError(f"intake answered {response.status_code}: {response.text[:500]}")
    return str(response.json()["case_no"]), t201, (t201 - sent) * 1000


def run_ours(bench: Bench) -> tuple[OurPath, dict[str, float]]:
    """Post the case, wait for every ack and every outcome (and for the stack to go quiet);
    t0 is the 201. Returns the path and the CPU reading taken then, before the bench reads
    the case through the API (which costs the API as much as a tenth of a second)."""
    headers = {
        "Authorization": f"Bearer {bench.token}",
        "Accept-Language": "en",
        "Content-Type": "application/json",
    }
    with bench.stack.api(headers) as api:
        case_no, t201, post_ms = post_case(api)
        deadline = time.monotonic() + bench.timeout
        for field in ("acked_at", "completed_at"):
            if bench.poll == "api":
                poll_api(bench, api, case_no, field, deadline)
            else:
                poll_db(bench, case_no, field, deadline)
        expected = sum(LEVEL_SIZES) + 1 - count_skipped(bench, case_no)
        entries = settled_ledger(bench.stack, case_no, expected, timeout=30)
        wait_quiet(bench)
        done = bench.cpu()
        case = read_case(api, case_no)
    check_shape(case)
    path = OurPath(case_no, t201, post_ms, case["instructions"], level_map(case), entries)
    return path, done


def count_skipped(bench: Bench, case_no: str) -> int:
    """How many of the case's instructions are at institutions never done (`bench.skip`)."""
    if not bench.skip:
        return 0
    row = bench.watch.execute(
        '/* bench */ SELECT count(*) FROM instruction i JOIN "case" c ON c.id = i.case_id '
        "JOIN institution inst ON inst.id = i.institution_id "
        "WHERE c.case_no = %s AND inst.code = ANY(%s::text[])",
        (case_no, list(bench.skip)),
    ).fetchone()
    return int(row[0]) if row else 0


def sent_requests(bench: Bench, case_no: str) -> list[Sent]:
    """What our adapters sent for the case (workers/adapters/simulated.py), from our database."""
    rows = bench.watch.execute(SENT_SQL, (case_no,)).fetchall()
    sent = []
    for row in rows:
        iid, key, kind, number, code, account_no, holder, amount, when, document_no, attempts = row
        body = {
            "kind": kind,
            "case_no": number,
            "account_no": account_no,
            "holder_name": holder,
            "amount": str(amount) if amount is not None else None,
            "transaction_time": when.isoformat() if when else None,
            "reference": None,
            "document_no": document_no,
        }
        ack_ms, processing_ms = drawn_ms(key)
        sent.append(Sent(iid, key, code, body, attempts, ack_ms, processing_ms))
    return sent


def run_once(bench: Bench) -> Run:
    """Our path, then the bare client with the same requests; CPU read around each."""
    reset_simulator(bench.stack)
    before = bench.cpu()
    ours, between = run_ours(bench)
    sent = sent_requests(bench, ours.case_no)
    reset_simulator(bench.stack)
    ready = bench.cpu()
    bare = run_bare(bench.stack, sent, ours.case_no, bench.timeout, bench.skip)
    after = bench.cpu()
    return Run(ours, bare, sent, cpu_delta(before, between), cpu_delta(ready, after))


def open_watch(url: str) -> psycopg.Connection[Any]:
    """The bench's one connection to its database, kept open for the whole run."""
    return psycopg.connect(libpq(url), autocommit=True)
