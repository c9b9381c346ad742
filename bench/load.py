"""Sustained-load benchmark: the highest rate of cases the whole stack holds, step by step.

What is measured: how many cases a second (and instructions a second) the service takes in
and dispatches while the p99 dispatch delay stays at most 1 s, with `--workers` worker
processes. Dispatch delay is per instruction: from the 201 the call-taker got to the
instruction's own `acked_at` (the institution's 202, recorded by the worker).

The load: each case reports `--accounts` payments (default 5) from the victim's card to
cards at as many banks, so intake makes as many stop-payments plus the case's registration at
the national platform (6 instructions). An open-loop client (bench/intake.py's loop: case i
leaves at start + i/rate whatever the earlier ones are doing) holds each rate of `--rates`
for `--step-s` seconds (60 by default, as issue 9 asks), recording each request's latency to
its answer. After each step the bench waits until every instruction of the step has its
outcome (at most `--drain-s`), so the next step starts from an empty queue, then reads each
instruction's `acked_at` from the database. Broker queue depth is sampled every second: the
messages waiting in the Redis queue (LLEN of its priority lists) and those taken by a worker
and not yet acknowledged (HLEN of kombu's `unacked`). CPU seconds of each process group, the
database's backends, this client and the rest of the machine are read from /proc around each
step's sending; peak memory (VmHWM, summed over each process group) after each step.

A step is held when every request got its 201, the client achieved at least 95% of the rate,
every instruction was acked within the drain time and the p99 dispatch delay is at most 1 s.
The run stops at the first step not held; the highest rate held is the step before it. At the
end the simulator's ledger must show every instruction applied exactly once.

The stack is bench/fanout.py's (tests/e2e/stack.py processes: API, worker, beat, simulator,
the simulator with the fan-out bench profile: ack 100-300 ms, callback 0.5-3 s later, no
faults) on a throw-away database and a Redis database and queue of its own. The section
`## Sustained load (bench/load.py)` of BENCHMARKS.md gets one sub-section per worker count.

    .venv/bin/python bench/load.py [--workers 1|2] [--step-s 60] [--rates 2,4,6,8,...,32]
        [--accounts 5] [--concurrency 100] [--drain-s 300] [--max-load 1] [--out BENCHMARKS.md]
        [--logs DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `app`, `bench`, `tests` import

from bench.fanout import Options as StackOptions  # noqa: E402
from bench.fanout import (  # noqa: E402
    applied_once,
    cpu_delta,
    libpq,
    make_stack,
    peak_memory,
    print_logs,
    start_stack,
    wait_for_quiet,
)
from bench.intake import (  # noqa: E402
    MAX_IN_FLIGHT,
    REQUEST_TIMEOUT_S,
    Request,
    build_requests,
    create_database,
    drop_database,
    git_commit,
    machine,
    open_loop,
    prepare_database,
)
from bench.load_figures import (  # noqa: E402
    PROCESS_NAMES,
    Posted,
    Step,
    cpu_table,
    headline,
    load_table,
    memory_table,
    step_figures,
    stop_reason,
)
from bench.report import log_dir, write_subsection  # noqa: E402
from bench.sampling import Sampler  # noqa: E402
from tests.e2e.stack import Stack, drop_queue  # noqa: E402

HEADING = "## Sustained load (bench/load.py)"
BROKER_URL = "redis://127.0.0.1:6379/13"  # the load bench's own Redis database
DEFAULT_RATES = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0, 24.0, 28.0, 32.0)
WARMUP_CASES = 10
WARMUP_RATE = 2.0


@dataclass(frozen=True)
class Options:
    workers: int
    step_s: float
    rates: tuple[float, ...]
    accounts: int
    concurrency: int
    drain_s: float
    max_load: float | None
    out: Path
    logs: Path | None

    @property
    def command(self) -> str:
        rates = ",".join(f"{r:g}" for r in self.rates)
        quiet = "" if self.max_load is None else f" --max-load {self.max_load:g}"
        return (
            f".venv/bin/python bench/load.py --workers {self.workers} --step-s {self.step_s:g} "
            f"--rates {rates} --accounts {self.accounts} --concurrency {self.concurrency}"
            f"{quiet} --out {self.out}"
        )

    @property
    def config(self) -> str:
        return "1 worker process" if self.workers == 1 else f"{self.workers} worker processes"


@dataclass
class Results:
    load_before: float
    load_after: float = 0.0
    postgres: str = ""
    warmup: Step | None = None
    steps: list[Step] = field(default_factory=list)
    instructions: int = 0  # of every case sent, warm-up included
    applied_once: bool = False
    max_attempts: int = 0


def parse_rates(text: str) -> tuple[float, ...]:
    """`2,4,8` -> (2.0, 4.0, 8.0); the rates must be positive and rising."""
    rates = tuple(float(part) for part in text.split(",") if part.strip())
    if not rates or min(rates) <= 0 or list(rates) != sorted(set(rates)):
        raise argparse.ArgumentTypeError("rates must be positive and rising, e.g. 2,4,8")
    return rates


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1 or 2)")
    parser.add_argument("--step-s", type=float, default=60.0, help="seconds each rate is held")
    parser.add_argument(
        "--rates",
        type=parse_rates,
        default=DEFAULT_RATES,
        help="cases/s of each step, rising (default %(default)s)",
    )
    parser.add_argument("--accounts", type=int, default=5, help="stop-payments per case")
    parser.add_argument("--concurrency", type=int, default=100, help="threads per worker")
    parser.add_argument("--drain-s", type=float, default=300.0, help="wait for outcomes")
    parser.add_argument(
        "--max-load",
        type=float,
        default=None,
        help="first wait (at most 10 min) until the 1-minute load average is at most this",
    )
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    a = parser.parse_args(argv)
    if a.workers < 1 or a.step_s <= 0 or not 1 <= a.accounts <= 8 or a.concurrency < 1:
        parser.error("--workers and --concurrency at least 1, --step-s positive, --accounts 1-8")
    return Options(
        a.workers,
        a.step_s,
        a.rates,
        a.accounts,
        a.concurrency,
        a.drain_s,
        a.max_load,
        a.out,
        a.logs,
    )


# --- The database -----------------------------------------------------------------------

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


def drain(url: str, case_nos: list[str], timeout_s: float) -> bool:
    """Wait until every instruction of these cases has its outcome; False if time ran out."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        while True:
            row = conn.execute(PROGRESS_SQL, (case_nos,)).fetchone()
            if row is not None and row[0] == row[1]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)


def dispatch_delays(url: str, answered: dict[str, float]) -> tuple[list[float], int]:
    """Each instruction's 201 -> acked_at (inf if not acked), and the most attempts of one."""
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(ACKED_SQL, (list(answered),)).fetchall()
    delays = [
        math.inf if acked_at is None else acked_at.timestamp() - answered[case_no]
        for case_no, acked_at, _ in rows
    ]
    return delays, max((attempts for *_, attempts in rows), default=0)


def db_xacts(url: str) -> int:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        row = conn.execute(XACTS_SQL).fetchone()
        return int(row[0]) if row else 0


def postgres_version(url: str) -> str:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0].split()[0]}" if row else "PostgreSQL"


# --- The load ---------------------------------------------------------------------------


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
    """What every step needs: the stack, its database, the client and the broker sampler."""

    stack: Stack
    url: str
    token: str
    client: httpx.AsyncClient
    sampler: Sampler
    options: Options
    sent: int = 0  # cases built so far: each case's accounts are its own


async def run_step(run: Run, rate: float, count: int) -> Step:
    """`count` cases at `rate` a second, then wait for their outcomes and read the delays."""
    requests = build_requests(count, run.options.accounts, run.token, first=run.sent)
    run.sent += count
    cpu_before, xacts_before = run.sampler.cpu_now(), db_xacts(run.url)
    start = time.time()
    posted = await open_loop(run.client, requests, rate, post_case)
    end = time.time()
    cpu = cpu_delta(cpu_before, run.sampler.cpu_now())
    xacts = db_xacts(run.url) - xacts_before
    answered = {p.case_no: p.answered_at for p in posted if p.case_no is not None}
    if answered:
        await asyncio.to_thread(drain, run.url, list(answered), run.options.drain_s)
    delays, attempts = await asyncio.to_thread(dispatch_delays, run.url, answered)
    queue_max, unacked_max = run.sampler.queue_peaks(start, end)
    return Step(
        rate,
        end - start,
        posted,
        delays,
        attempts,
        queue_max,
        unacked_max,
        cpu,
        xacts,
        peak_memory(run.stack, PROCESS_NAMES),
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
    if not drain(run.url, all_case_nos(run.url), run.options.drain_s):
        print("some instructions still have no outcome", file=sys.stderr)
    with psycopg.connect(libpq(run.url)) as conn:
        keys = {row[0] for row in conn.execute("SELECT idempotency_key FROM instruction")}
        row = conn.execute("SELECT max(attempts) FROM instruction").fetchone()
    with run.stack.simulator() as sim:
        response = sim.get("/admin/ledger", params={"entry": "applied"}, timeout=120)
        response.raise_for_status()
    results.instructions = len(keys)
    results.applied_once = applied_once(response.json(), keys)
    results.max_attempts = int(row[0]) if row and row[0] is not None else 0


def all_case_nos(url: str) -> list[str]:
    with psycopg.connect(libpq(url)) as conn:
        return [row[0] for row in conn.execute('SELECT case_no FROM "case"')]


INTRO = """\
The whole stack as separate processes (`python -m app.cli api|worker|beat|simulator`, started
as bench/fanout.py starts them) against the local PostgreSQL and Redis; the simulated
institutions ack in 100-300 ms and call back 0.5-3 s later, without faults or rate limits.
Each case reports 5 payments from the victim's card to cards at 5 banks: 5 stop-payments and
the registration at the national platform, 6 instructions. An open-loop client sends cases on
schedule (never waiting for answers) at a rising rate, holding each rate for a step; after
each step it waits until every instruction of the step has its outcome, so each step starts
from an empty queue. Intake latency is send to 201; dispatch delay is the 201 to the
instruction's `acked_at` (its institution's 202, recorded by the worker), over every
instruction of the step. Queue: the most messages waiting in the Redis queue / taken by
workers and not yet acknowledged, sampled every second. A step is held when every request got
its 201, the client achieved 95% of the rate, every instruction was acked and the p99 dispatch
delay is at most 1 s; the run stops at the first step not held. CPU is in cores (CPU seconds
over the step's wall-clock seconds, from /proc) on a 2-core machine the client shares; memory
is the peak RSS (VmHWM, summed over a process group) by the end of each step. The machine is
shared: other people's tests may run at the same time. "rest" (the machine's CPU time not
spent by the stack's processes, the database's backends or the client: Redis, other
databases, anyone else) shows how much; the load average at the end of a run counts the
stack's own busy threads, and says little about others.
"""


def render_config(results: Results, options: Options) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    once = "yes" if results.applied_once else "NO"
    note = ""
    if options.step_s < 60:
        note = (
            f"- steps of {options.step_s:g} s, shorter than the 60 s issue 9 asks for: "
            f"a quick look, not the figure of record\n"
        )
    return (
        f"### {options.config}\n\n"
        f"- command: `{options.command}`\n"
        f"- date (UTC): {now}\n"
        f"- machine: {machine()}; {results.postgres}; 1-minute load average "
        f"{results.load_before:.2f} before the run, {results.load_after:.2f} at its end\n"
        f"- commit: {git_commit()}\n"
        f"- stack: API (1 uvicorn process), worker ({options.workers} x threads pool of "
        f"{options.concurrency}), beat, simulator\n{note}\n"
        f"{headline(results.steps)}\n\n"
        f"{load_table(results.steps)}\n\n"
        f"CPU (cores) while each step sent:\n\n{cpu_table(results.steps)}\n\n"
        f"Peak memory (VmHWM) by the end of each step:\n\n{memory_table(results.steps)}\n\n"
        f"Applied exactly once (simulator ledger): {once}, {results.instructions} "
        f"instructions (warm-up included); most attempts of one instruction: "
        f"{results.max_attempts}.\n"
    )


# --- Main -------------------------------------------------------------------------------


async def drive(
    stack: Stack, url: str, token: str, options: Options, sampler: Sampler, results: Results
) -> None:
    """One client (connection pool) for the whole run, so no step pays for new connections."""
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S, pool=None)
    async with httpx.AsyncClient(base_url=stack.api_url, limits=limits, timeout=timeout) as c:
        run = Run(stack, url, token, c, sampler, options)
        await run_steps(run, results)
        await asyncio.to_thread(check_ledger, run, results)


def measure(url: str, options: Options, logs: Path, results: Results) -> None:
    token = prepare_database(url)
    results.postgres = postgres_version(url)
    queue = f"load-{uuid.uuid4().hex[:8]}"
    stack_options = StackOptions(
        1, "threads", options.workers, options.concurrency, options.out, None, 120.0, "db", None
    )
    stack = make_stack(
        url, stack_options, logs, broker_url=BROKER_URL, settings={"STOPAY_QUEUE": queue}
    )
    sampler: Sampler | None = None
    try:
        start_stack(stack, options.workers)
        groups = {process.pid: name for name, process in stack.processes.items()}
        sampler = Sampler(BROKER_URL, queue, groups, str(make_url(url).database))
        sampler.start()
        asyncio.run(drive(stack, url, token, options, sampler, results))
        results.load_after = os.getloadavg()[0]
    except Exception:
        print_logs(stack)
        raise
    finally:
        if sampler is not None:
            sampler.stop()
        stack.stop_all()
        drop_queue(BROKER_URL, queue)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    wait_for_quiet(options.max_load)
    results = Results(load_before=os.getloadavg()[0])
    url = create_database()
    try:
        with log_dir(options.logs, "stopay-load-") as logs:
            measure(url, options, logs, results)
    finally:
        drop_database(url)
        redis.Redis.from_url(BROKER_URL).flushdb()
    config = render_config(results, options)
    write_subsection(options.out, config, heading=HEADING, intro=INTRO)
    print(config)
    print(f"Written to {options.out}")
    return 0 if results.applied_once else 1


if __name__ == "__main__":
    sys.exit(main())
