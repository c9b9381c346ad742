"""Sustained-load benchmark: the highest rate of cases the whole stack holds, step by step.

What is measured: how many cases a second (and instructions a second) the service takes in
and dispatches while the p99 dispatch delay stays at most 1 s, with `--workers` worker
processes. Dispatch delay is per instruction: from the 201 the call-taker got to the
instruction's own `acked_at` (the institution's 202, recorded by the worker).

The load: each case reports `--accounts` payments (default 5) from the victim's card to
cards at as many banks, so intake makes as many stop-payments plus the case's registration at
the national platform (6 instructions). An open-loop client (bench/support/client.py: case i
leaves at start + i/rate whatever the earlier ones are doing) holds each rate of `--rates`
for `--step-s` seconds (60 by default, as issue 9 asks), recording each request's latency to
its answer. After each step the bench waits until every instruction of the step has its
outcome (at most `--drain-s`), so the next step starts from an empty queue, then reads each
instruction's `acked_at` from the database. Broker queue depth is sampled every second: the
messages waiting in the Redis queue (LLEN of its priority lists) and those taken by a worker
and not yet acknowledged (HLEN of kombu's `unacked`). CPU seconds of each process group, the
database's backends, this client and the rest of the machine are read from /proc around each
step's sending, and again when its outcomes are all in; peak memory (VmHWM, summed over each
process group) after each step. **Stack CPU per instruction** (API + worker + beat + PostgreSQL
backends) is the CPU from a step's first send until its outcomes are all in, over its
instructions; the simulator's is reported beside it, apart.

The database is on a PostgreSQL server of the bench's own (bench/support/pgserver.py: the
installed PostgreSQL 15 started in a temporary folder), not on the shared one on 5432: every
process of it is a child of its postmaster, so its CPU is read exactly from /proc (the
backends that exited, a pool's overflow connections closed, included: the postmaster's
`cutime`) and none of other people's tests is counted. The bench's own connection to its
database (drain, delays, transaction counts) is one, kept open, and counted as the client's.

A step is held when every request got its 201, the client achieved at least 95% of the rate,
every instruction was acked within the drain time and the p99 dispatch delay is at most 1 s.
The run stops at the first step not held; the highest rate held is the step before it. At the
end the simulator's ledger must show every instruction applied exactly once.

The stack is the fan-out benchmark's (bench/support/stack.py: API, worker, beat, simulator,
the simulator with the bench profile: ack 100-300 ms, callback 0.5-3 s later, no
faults) on a throw-away database and a Redis database and queue of its own. The section
`## Sustained load (bench/load.py)` of BENCHMARKS.md gets one sub-section per API and worker
process count. `--api-workers N` runs the API as N uvicorn processes (STOPAY_API_WORKERS):
they, uvicorn's supervisor and multiprocessing's resource tracker are one process group,
so the API's CPU and memory are summed over all of them.

    .venv/bin/python -m bench.load [--api-workers 1|2] [--workers 1|2] [--step-s 60]
        [--rates 2,4,6,8,...,32] [--accounts 5] [--concurrency 100] [--drain-s 300]
        [--max-load 1] [--out BENCHMARKS.md] [--logs DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.load_figures import INTRO, Options, Results, render_config
from bench.load_steps import Run, check_ledger, postgres_version, run_steps
from bench.support.client import open_loop_client
from bench.support.cpu import Sampler
from bench.support.db import create_database, libpq, prepare_database
from bench.support.pgserver import OwnPostgres
from bench.support.report import log_dir, wait_for_quiet, write_subsection
from bench.support.stack import (
    Stack,
    bench_stack,
    clear_broker,
    drop_queue,
    start_stack,
    stopped_after,
)

HEADING = "## Sustained load (bench/load.py)"
BROKER_URL = "redis://127.0.0.1:6379/13"  # the load bench's own Redis database
# Up to 4x the 14 cases/s held before issue 19 (47af5cc), so the figure is not capped below 3x.
DEFAULT_RATES = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0, 24.0, 28.0, 32.0) + (
    36.0,
    40.0,
    44.0,
    48.0,
    56.0,
)


def parse_rates(text: str) -> tuple[float, ...]:
    """`2,4,8` -> (2.0, 4.0, 8.0); the rates must be positive and rising."""
    rates = tuple(float(part) for part in text.split(",") if part.strip())
    if not rates or min(rates) <= 0 or list(rates) != sorted(set(rates)):
        raise argparse.ArgumentTypeError("rates must be positive and rising, e.g. 2,4,8")
    return rates


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1 or 2)")
    parser.add_argument(
        "--api-workers", type=int, default=1, help="API processes (STOPAY_API_WORKERS)"
    )
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
    if min(a.workers, a.api_workers, a.concurrency) < 1 or a.step_s <= 0:
        parser.error("--workers, --api-workers and --concurrency at least 1, --step-s positive")
    if not 1 <= a.accounts <= 8:
        parser.error("--accounts 1-8")
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
        a.api_workers,
    )


async def drive(
    stack: Stack, url: str, token: str, options: Options, sampler: Sampler, results: Results
) -> None:
    """One client (connection pool) for the whole run, so no step pays for new connections,
    and one connection of the bench's own to the database."""
    with psycopg.connect(libpq(url), autocommit=True) as watch:
        sampler.exclude.add(watch.info.backend_pid)
        async with open_loop_client(stack.api_url) as client:
            run = Run(stack, url, watch, token, client, sampler, options)
            await run_steps(run, results)
            await asyncio.to_thread(check_ledger, run, results)


def measure(url: str, server: OwnPostgres, options: Options, logs: Path, results: Results) -> None:
    token = prepare_database(url)
    results.postgres = postgres_version(url)
    queue = f"load-{uuid.uuid4().hex[:8]}"
    stack = bench_stack(
        url,
        logs,
        pool="threads",
        processes=options.workers,
        concurrency=options.concurrency,
        broker_url=BROKER_URL,
        settings={"STOPAY_QUEUE": queue, "STOPAY_API_WORKERS": str(options.api_workers)},
    )
    try:
        with stopped_after(stack):
            start_stack(stack, options.workers)
            groups = {process.pid: name for name, process in stack.processes.items()}
            sampler = Sampler(BROKER_URL, queue, groups, (server, str(make_url(url).database)))
            sampler.start()
            try:
                asyncio.run(drive(stack, url, token, options, sampler, results))
            finally:
                sampler.stop()
            results.load_after = os.getloadavg()[0]
    finally:
        drop_queue(BROKER_URL, queue)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    wait_for_quiet(options.max_load)
    results = Results(load_before=os.getloadavg()[0])
    server = OwnPostgres()
    try:
        url = create_database(server.start())
        with log_dir(options.logs, "stopay-load-") as logs:
            measure(url, server, options, logs, results)
    finally:
        server.stop()
        clear_broker(BROKER_URL)
    config = render_config(results, options)
    write_subsection(options.out, config, heading=HEADING, intro=INTRO)
    print(config)
    print(f"Written to {options.out}")
    return 0 if results.applied_once else 1


if __name__ == "__main__":
    sys.exit(main())
