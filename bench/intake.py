"""Intake benchmark: how fast the real API stores reports under a steady stream of them.

What is measured: `POST /api/v1/cases` on the real API process (`python -m app.cli api`, one
uvicorn process) against the real PostgreSQL server, each case carrying `--transfers` victim
payments to distinct level-1 bank cards at several banks. Each answer is one committed
transaction writing the case, its accounts, transfers, stop-payment instructions, outbox rows
and audit events.

How: a throw-away database is created, migrated and seeded, and a call-taker with an API token
is added. After a warm-up, cases are sent open-loop at `--rate` per second for `--duration`
seconds: request i is sent at start + i/rate whatever the earlier requests are doing, so a slow
server shows up as latency instead of quietly lowering the load. Payloads are built and
serialised before the timed loop. Latency is from the moment the client starts sending to the
full response; a request unanswered after 60 s counts as failed. After the run the rows
written are counted in the database, and the API's peak RSS is read from /proc. The API is
stopped, the database dropped and the broker's database (Redis db 14, the bench's own)
emptied, even on failure. The client runs on the same machine as the API and PostgreSQL and
takes CPU from them: the figures are for this whole setup.

    .venv/bin/python -m bench.intake [--rate 20] [--duration 30] [--transfers 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.intake_figures import (
    HEADING,
    TARGET_RATE,
    TARGET_TRANSFERS,
    Options,
    Results,
    Sample,
    render,
)
from bench.support.api import BROKER_URL as API_BROKER_URL
from bench.support.api import print_api_log, start_api, stop_process, wait_ready
from bench.support.cases import Request, build_requests
from bench.support.client import open_loop, open_loop_client
from bench.support.cpu import peak_rss_kib
from bench.support.db import count_rows, create_database, drop_database, prepare_database
from bench.support.report import write_section
from bench.support.stack import clear_broker, free_port

WARMUP_CASES = 20
COUNTED_TABLES = ("case", "account", "case_account", "transfer", "instruction", "outbox", "event")


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="cases per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--transfers", type=int, default=TARGET_TRANSFERS, help="per case")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or not 1 <= args.transfers <= 200:
        parser.error("rate and duration must be positive, transfers between 1 and 200")
    return Options(args.rate, args.duration, args.transfers, args.out)


async def post_case(client: httpx.AsyncClient, request: Request, scheduled: float) -> Sample:
    """One report; a connection error or time-out counts as a failure with status 0."""
    sent = time.perf_counter()
    try:
        response = await client.post("/api/v1/cases", content=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        return Sample(0, sent, time.perf_counter(), sent - scheduled, f"{exc!r}"[:500])
    done = time.perf_counter()
    head = "" if response.status_code == 201 else response.text[:500]
    return Sample(response.status_code, sent, done, sent - scheduled, head)


async def drive(
    base_url: str,
    warmup: list[Request],
    timed: list[Request],
    *,
    rate: float,
    between: Callable[[], None],
) -> tuple[list[Sample], list[Sample]]:
    """Warm up one request at a time, run `between` (the row count), then the open loop."""
    async with open_loop_client(base_url) as client:
        warm: list[Sample] = []
        for request in warmup:
            warm.append(await post_case(client, request, scheduled=time.perf_counter()))
            if warm[-1].status != 201:
                raise RuntimeError(f"warm-up answered {warm[-1].status}: {warm[-1].body_head}")
        await asyncio.to_thread(between)
        return warm, await open_loop(client, timed, rate, post_case)


def print_failures(samples: list[Sample], limit: int = 5) -> None:
    failed = [s for s in samples if s.status != 201]
    for s in failed[:limit]:
        print(f"  HTTP {s.status or 'error'}: {s.body_head}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(samples)} requests were not 201", file=sys.stderr)


def measure(url: str, options: Options, workdir: Path) -> Results:
    """Start the API, warm up, run the open loop, count rows; the API is always stopped."""
    load_before = os.getloadavg()[0]
    token = prepare_database(url)
    count = max(1, round(options.rate * options.duration))
    warmup = build_requests(WARMUP_CASES, options.transfers, token, first=0)
    timed = build_requests(count, options.transfers, token, first=WARMUP_CASES)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = workdir / "api.log"
    proc = start_api(url, port, log)
    before: dict[str, int] = {}

    def count_before() -> None:
        before.update(count_rows(url, COUNTED_TABLES))

    try:
        wait_ready(base_url, proc)
        warm, samples = asyncio.run(
            drive(base_url, warmup, timed, rate=options.rate, between=count_before)
        )
        rss = peak_rss_kib(proc.pid)
    except Exception:
        print_api_log(log)
        raise
    finally:
        stop_process(proc)
    if any(s.status != 201 for s in samples):
        print_api_log(log)
    after = count_rows(url, COUNTED_TABLES)
    rows = {t: after[t] - before[t] for t in COUNTED_TABLES}
    return Results(warm, samples, rows, rss, load_before)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    url = create_database()
    try:
        with tempfile.TemporaryDirectory(prefix="stopay-bench-") as workdir:
            results = measure(url, options, Path(workdir))
    finally:
        drop_database(url)
        clear_broker(API_BROKER_URL)
    print_failures(results.samples)
    section = render(results, options)
    write_section(options.out, section, heading=HEADING)
    print(section)
    print(f"Written to {options.out}")
    return 1 if any(s.status != 201 for s in results.samples) else 0


if __name__ == "__main__":
    sys.exit(main())
