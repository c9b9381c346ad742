"""The sustained-load benchmark's steps: each rate sent open-loop, the step drained, each
instruction's dispatch delay read from the database, and the simulator's ledger checked at
the end."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from bench.load_figures import (
    PROCESS_NAMES,
    Options,
    Posted,
    Results,
    Step,
    step_figures,
    stop_reason,
)
from bench.support.cases import Request, build_requests
from bench.support.client import open_loop
from bench.support.cpu import Sampler, cpu_delta, peak_memory
from bench.support.db import libpq
from bench.support.simulator import applied_once
from bench.support.stack import Stack

Watch = psycopg.Connection[Any]  # the bench's own connection to its database (autocommit)
WARMUP_CASES = 10
WARMUP_RATE = 2.0

PROGRESS_SQL = """
SELECT count(*), count(i.completed_at)
FROM instruction i JOIN "case" c ON c.id = i.case_id
WHERE c.case_no = ANY(%s)
"""
ACKED_SQL = """
SELECT c.case_no, i.acked_at, i.attempts
FROM instruction i JOIN "case" c ON c.id = i.case_id
WHERE c.case_no = ANY(%s)
"""
XACTS_SQL = """
SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()
"""


def drain(conn: Watch, case_nos: list[str], timeout_s: float) -> bool:
    """Wait until every instruction of these cases has its outcome; False if time ran out."""
    deadline = time.monotonic() + timeout_s
    while True:
        row = conn.execute(PROGRESS_SQL, (case_nos,)).fetchone()
        if row is not None and row[0] == row[1]:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def dispatch_delays(conn: Watch, answered: dict[str, float]) -> tuple[list[float], int]:
    """Each instruction's 201 -> acked_at (inf if not acked), and the most attempts of one."""
    rows = conn.execute(ACKED_SQL, (list(answered),)).fetchall()
    delays = [
        math.inf if acked_at is None else acked_at.timestamp() - answered[case_no]
        for case_no, acked_at, _ in rows
    ]
    return delays, max((attempts for *_, attempts in rows), default=0)


def db_xacts(conn: Watch) -> int:
    row = conn.execute(XACTS_SQL).fetchone()
    return int(row[0]) if row else 0


def postgres_version(url: str) -> str:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0].split()[0]}" if row else "PostgreSQL"


async def post_case(client: httpx.AsyncClient, request: Request, scheduled: float) -> Posted:
    sent = time.perf_counter()
    try:
        response = await client.post("/api/v1/cases", content=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - sent) * 1000
        return Posted(0, latency, sent - scheduled, time.time(), None, f"{exc!r}"[:300])
    answered, latency = time.time(), (time.perf_counter() - sent) * 1000
    if response.status_code != 201:
        detail = response.text[:300]
        return Posted(response.status_code, latency, sent - scheduled, answered, None, detail)
    return Posted(201, latency, sent - scheduled, answered, str(response.json()["case_no"]))


@dataclass
class Run:
    """What every step needs: the stack, its database and the bench's one connection to it
    (kept open, so that the sampler counts its backend as the bench's), the client and the
    broker sampler."""

    stack: Stack
    url: str
    watch: Watch
    token: str
    client: httpx.AsyncClient
    sampler: Sampler
    options: Options
    sent: int = 0  # cases built so far: each case's accounts are its own


async def run_step(run: Run, rate: float, count: int) -> Step:
    """`count` cases at `rate` a second, then wait for their outcomes and read the delays."""
    requests = build_requests(count, run.options.accounts, run.token, first=run.sent)
    run.sent += count
    cpu_before, xacts_before = run.sampler.cpu_now(), db_xacts(run.watch)
    start = time.time()
    posted = await open_loop(run.client, requests, rate, post_case)
    end = time.time()
    cpu_sent = run.sampler.cpu_now()
    xacts = db_xacts(run.watch) - xacts_before
    answered = {p.case_no: p.answered_at for p in posted if p.case_no is not None}
    if answered:
        await asyncio.to_thread(drain, run.watch, list(answered), run.options.drain_s)
    cpu_drained = run.sampler.cpu_now()
    delays, attempts = await asyncio.to_thread(dispatch_delays, run.watch, answered)
    queue_max, unacked_max = run.sampler.queue_peaks(start, end)
    return Step(
        rate,
        end - start,
        posted,
        delays,
        attempts,
        queue_max,
        unacked_max,
        cpu_delta(cpu_before, cpu_sent),
        xacts,
        peak_memory(run.stack, PROCESS_NAMES),
        cpu_delta(cpu_before, cpu_drained),
    )


async def run_steps(run: Run, results: Results) -> None:
    """The warm-up, then each rate until a step is not held."""
    warm = results.warmup = await run_step(run, WARMUP_RATE, WARMUP_CASES)
    expected = WARMUP_CASES * (run.options.accounts + 1)
    f = step_figures(warm)
    if f["errors"] or f["not_acked"] or len(warm.delays_s) != expected:
        raise RuntimeError(
            f"warm-up: {f['errors']:.0f} intake errors, {f['not_acked']:.0f} not "
            f"acked, {len(warm.delays_s)} instructions of {expected}"
        )
    for rate in run.options.rates:
        step = await run_step(run, rate, max(1, round(rate * run.options.step_s)))
        results.steps.append(step)
        f = step_figures(step)
        print(
            f"{rate:g} cases/s: {f['created']:.0f} of {f['sent']:.0f} answered 201, intake "
            f"p99 {f['intake_p99']:.0f} ms, dispatch p50 {f['dispatch_p50']:.2f} s p99 "
            f"{f['dispatch_p99']:.2f} s, queue {step.queue_max}, unacked {step.unacked_max}",
            file=sys.stderr,
        )
        if stop_reason(step):
            break


def check_ledger(run: Run, results: Results) -> None:
    """Every instruction in our database applied exactly once by the simulated institutions."""
    if not drain(run.watch, all_case_nos(run.watch), run.options.drain_s):
        print("some instructions still have no outcome", file=sys.stderr)
    keys = {row[0] for row in run.watch.execute("SELECT idempotency_key FROM instruction")}
    row = run.watch.execute("SELECT max(attempts) FROM instruction").fetchone()
    with run.stack.simulator() as sim:
        response = sim.get("/admin/ledger", params={"entry": "applied"}, timeout=120)
        response.raise_for_status()
    results.instructions = len(keys)
    results.applied_once = applied_once(response.json(), keys)
    results.max_attempts = int(row[0]) if row and row[0] is not None else 0


def all_case_nos(conn: Watch) -> list[str]:
    return [row[0] for row in conn.execute('SELECT case_no FROM "case"')]
