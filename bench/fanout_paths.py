"""The fan-out benchmark's two paths to the same institutions: ours (the case posted to the
API, the worker sending its instructions) and the bare client (the very requests our adapters
sent, straight from aiohttp to the simulator, with a callback receiver in this process)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import psycopg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.support.cases import LEVEL_SIZES, fanout_case
from bench.support.cpu import cpu_delta, cpu_seconds
from bench.support.db import libpq
from bench.support.simulator import drawn_ms, reset_simulator, settled_ledger
from bench.support.stack import Stack, free_port

POLL_S = 0.05
PROGRESS_SQL = """
SELECT count(*), count(i.acked_at), count(i.completed_at)
FROM instruction i JOIN "case" c ON c.id = i.case_id
WHERE c.case_no = %s
"""
SENT_SQL = """
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
class Sent:
    """One instruction as our adapter sent it, with its simulated delays (first attempt)."""

    instruction_id: int
    key: str
    institution: str
    body: dict[str, Any]
    attempts: int
    ack_ms: int  # the simulated delay before the 202
    processing_ms: int  # and after it, before the outcome

    @property
    def draw_s(self) -> float:
        """The least time from sending it to its outcome."""
        return (self.ack_ms + self.processing_ms) / 1000


@dataclass(frozen=True)
class OurPath:
    case_no: str
    t201: float  # epoch seconds
    post_ms: float
    instructions: list[dict[str, Any]]
    levels: dict[tuple[str, str], int]
    ledger: list[dict[str, Any]]


@dataclass(frozen=True)
class BarePath:
    t_send: float
    acks: dict[str, float]  # idempotency key -> when its 202 came back
    callbacks: dict[str, float]  # idempotency key -> when its callback arrived
    ledger: list[dict[str, Any]]


@dataclass(frozen=True)
class Run:
    ours: OurPath
    bare: BarePath
    sent: list[Sent]
    cpu_ours: dict[str, float]  # CPU seconds per process (cpu_seconds) while our path ran
    cpu_bare: dict[str, float]


# --- Our path ---------------------------------------------------------------------------


def read_case(api: httpx.Client, case_no: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/cases/{case_no}")
    response.raise_for_status()
    case: dict[str, Any] = response.json()
    return case


def poll_api(api: httpx.Client, case_no: str, field_name: str, deadline: float) -> None:
    """Until every instruction has `field_name` set, by `GET /api/v1/cases/{case_no}`."""
    while not all(i[field_name] is not None for i in read_case(api, case_no)["instructions"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{case_no}: instructions without {field_name} after the time-out")
        time.sleep(POLL_S)


def poll_db(url: str, case_no: str, field_name: str, deadline: float) -> None:
    """Until every instruction has `field_name` set, by one aggregate query on our database."""
    column = {"acked_at": 1, "completed_at": 2}[field_name]
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        while True:
            row = conn.execute(PROGRESS_SQL, (case_no,)).fetchone()
            if row is not None and row[0] > 0 and row[column] == row[0]:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{case_no}: instructions without {field_name} after time-out")
            time.sleep(POLL_S)


def wait_for_case(
    url: str, api: httpx.Client, case_no: str, *, poll: str, timeout: float
) -> dict[str, Any]:
    """The case once every instruction is acked, then done; polled every 50 ms."""
    deadline = time.monotonic() + timeout
    for field_name in ("acked_at", "completed_at"):
        if poll == "api":
            poll_api(api, case_no, field_name, deadline)
        else:
            poll_db(url, case_no, field_name, deadline)
    return read_case(api, case_no)


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


def run_ours(stack: Stack, url: str, token: str, *, poll: str, timeout: float) -> OurPath:
    """Post the case, wait for every ack and every outcome; t0 is the 201."""
    body = json.dumps(fanout_case(uuid.uuid4().int % 10**9, dt.datetime.now(dt.UTC))).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept-Language": "en",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    with stack.api(headers) as api:
        sent = time.time()
        response = api.post("/api/v1/cases", content=body)
        t201 = time.time()
        if response.status_code != 201:
            raise RuntimeError(f"intake answered {response.status_code}: {response.text[:500]}")
        case_no = str(response.json()["case_no"])
        case = wait_for_case(url, api, case_no, poll=poll, timeout=timeout)
    check_shape(case)
    entries = settled_ledger(stack, case_no, len(case["instructions"]), timeout=30)
    return OurPath(
        case_no, t201, (t201 - sent) * 1000, case["instructions"], level_map(case), entries
    )


def sent_requests(url: str, case_no: str) -> list[Sent]:
    """What our adapters sent for the case (workers/adapters/simulated.py), from our database."""
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(SENT_SQL, (case_no,)).fetchall()
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


# --- The bare client --------------------------------------------------------------------
@asynccontextmanager
async def callback_receiver(
    arrivals: dict[str, float], done: asyncio.Event, expected: int
) -> AsyncIterator[str]:
    """A callback endpoint on this event loop: notes when each key's callback arrives, 200s."""

    async def receive(request: Request) -> Response:
        data = json.loads(await request.body())
        arrivals.setdefault(data["data"]["idempotency_key"], time.time())
        if len(arrivals) >= expected:
            done.set()
        return Response(status_code=200)

    app = Starlette(routes=[Route("/callbacks/{code}", receive, methods=["POST"])])
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it did not start
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/callbacks"
    finally:
        server.should_exit = True
        await task


async def send_all(
    sim_url: str, sent: list[Sent], callback_base: str
) -> tuple[float, dict[str, float]]:
    """Every request at once; returns when the first went out and when each 202 came back.

    One aiohttp session (connection pool) per institution, as our adapters have, with the
    same HTTP client library: the comparison is of everything around the calls. (httpx's
    async client, which this used before the worker moved to aiohttp, spent about three times
    the CPU on the same calls, and made the bare client the slower one.)
    """
    acks: dict[str, float] = {}
    async with AsyncExitStack() as stack:
        sessions = {
            code: await stack.enter_async_context(
                aiohttp.ClientSession(
                    base_url=sim_url,
                    connector=aiohttp.TCPConnector(limit=len(sent)),
                    timeout=aiohttp.ClientTimeout(total=30),
                )
            )
            for code in sorted({item.institution for item in sent})
        }

        async def one(item: Sent) -> None:
            body = {**item.body, "callback_url": f"{callback_base}/{item.institution}"}
            async with sessions[item.institution].post(
                f"/institutions/{item.institution}/instructions",
                data=json.dumps(body).encode(),
                headers={"Idempotency-Key": item.key, "Content-Type": "application/json"},
            ) as response:
                text = await response.text()
            if response.status != 202:
                raise RuntimeError(f"bare client: {response.status} {text[:300]}")
            acks[item.key] = time.time()

        t_send = time.time()
        await asyncio.gather(*(one(item) for item in sent))
    return t_send, acks


async def bare_async(
    sim_url: str, sent: list[Sent], timeout: float
) -> tuple[float, dict[str, float], dict[str, float]]:
    arrivals: dict[str, float] = {}
    done = asyncio.Event()
    async with callback_receiver(arrivals, done, len(sent)) as callback_base:
        t_send, acks = await send_all(sim_url, sent, callback_base)
        await asyncio.wait_for(done.wait(), timeout)
    return t_send, acks, arrivals


def run_bare(stack: Stack, sent: list[Sent], case_no: str, timeout: float) -> BarePath:
    """The same keys and bodies straight to the (just reset) simulator."""
    t_send, acks, arrivals = asyncio.run(bare_async(stack.simulator_url, sent, timeout))
    entries = settled_ledger(stack, case_no, len(sent), timeout=30)
    return BarePath(t_send, acks, arrivals, entries)


def run_once(stack: Stack, url: str, token: str, *, poll: str, timeout: float) -> Run:
    """Our path, then the bare client with the same requests; CPU read around each."""
    reset_simulator(stack)
    before = cpu_seconds(stack)
    ours = run_ours(stack, url, token, poll=poll, timeout=timeout)
    between = cpu_seconds(stack)
    sent = sent_requests(url, ours.case_no)
    reset_simulator(stack)
    ready = cpu_seconds(stack)
    bare = run_bare(stack, sent, ours.case_no, timeout)
    after = cpu_seconds(stack)
    return Run(ours, bare, sent, cpu_delta(before, between), cpu_delta(ready, after))
