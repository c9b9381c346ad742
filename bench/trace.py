"""Follow-the-money benchmark: the 157-account case, with levels 2 and 3 found by callbacks.

The tree of bench/fanout.py (victim -> 40 level-1 -> 60 level-2 -> 57 level-3 accounts at
twelve institutions), but the report names only the 40 level-1 accounts. The simulated
institutions know the rest from a scenario this script loads: each level-1 and level-2
account keeps half of what came in and has sent the rest on, so each stop-payment's callback
reports where money went, and our service must stop levels 2 and 3 by itself.

Nothing can finish before the slowest chain of three institutions: a level-3 stop-payment can
only be sent once its level-2 parent's callback came, which waited on its level-1 parent's.
"Limit" is the longest such chain, each link being the ack plus processing delay the
simulator draws for that very request (`simulator.faults.draw`, first attempt), computed after
the run from our database's instructions and their parents. The target (issue 5): all 157
stop-payments completed within 1.2x of that limit, from the 201.

    .venv/bin/python -m bench.trace [--repeat 3] [--processes 2] [--concurrency 100]
        [--max-load 1.0] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.support.cases import trace_tree
from bench.support.cpu import peak_memory
from bench.support.db import create_database, drop_database, libpq, prepare_database
from bench.support.report import wait_for_quiet, write_section
from bench.support.simulator import drawn_ms, ledger, reset_simulator
from bench.support.stack import Stack, bench_stack, clear_broker, start_stack, stopped_after
from bench.trace_figures import HEADING, Run, TraceOptions, render

STOPS = 157
POLL_S = 0.05
PROGRESS_SQL = """
SELECT count(*) FILTER (WHERE i.kind = 'stop_payment'),
       count(*) FILTER (WHERE i.kind = 'stop_payment' AND i.completed_at IS NOT NULL),
       count(*) FILTER (WHERE i.completed_at IS NULL)
FROM instruction i JOIN "case" c ON c.id = i.case_id WHERE c.case_no = %s
"""
CHAIN_SQL = """
SELECT i.id, i.parent_id, i.idempotency_key, i.kind, i.outcome, i.attempts,
       extract(epoch FROM i.completed_at), extract(epoch FROM i.acked_at)
FROM instruction i JOIN "case" c ON c.id = i.case_id WHERE c.case_no = %s
"""


def parse_args(argv: list[str] | None) -> TraceOptions:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="cases measured (default 3)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=100, help="threads per process")
    parser.add_argument(
        "--max-load",
        type=float,
        default=None,
        help="first wait (at most 10 min) for the 1-minute load to drop to this",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    a = parser.parse_args(argv)
    if min(a.repeat, a.processes, a.concurrency) < 1:
        parser.error("--repeat, --processes and --concurrency must be at least 1")
    return TraceOptions(a.repeat, a.processes, a.concurrency, a.max_load, a.timeout, a.out)


def wait_done(url: str, case_no: str, deadline: float) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        while True:
            row = conn.execute(PROGRESS_SQL, (case_no,)).fetchone()
            if row is not None and row[0] >= STOPS and row[1] == row[0] and row[2] == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{case_no}: {row} (stops, completed, open) at the time-out")
            time.sleep(POLL_S)


def chain_limit(url: str, case_no: str) -> tuple[float, dict[int, int], list[tuple[Any, ...]]]:
    """(the longest parent chain of drawn ack + processing delays, stops per level, rows)."""
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(CHAIN_SQL, (case_no,)).fetchall()
    by_id = {r[0]: r for r in rows}

    def delay(row: tuple[Any, ...]) -> float:
        return float(sum(drawn_ms(row[2]))) / 1000

    def depth_and_chain(row: tuple[Any, ...]) -> tuple[int, float]:
        depth, total = 1, delay(row)
        while row[1] is not None:
            row = by_id[row[1]]
            depth, total = depth + 1, total + delay(row)
        return depth, total

    levels: dict[int, int] = {}
    longest = 0.0
    for row in rows:
        if row[3] != "stop_payment":
            continue
        depth, total = depth_and_chain(row)
        levels[depth] = levels.get(depth, 0) + 1
        longest = max(longest, total)
    return longest, levels, rows


def post_report(stack: Stack, token: str, report: dict[str, Any]) -> tuple[str, float, float]:
    """(the case number, when the report was sent, when the 201 came): epoch seconds."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=30) as api:
        sent = time.time()
        response = api.post("/api/v1/cases", content=json.dumps(report).encode())
        t201 = time.time()
    if response.status_code != 201:
        raise RuntimeError(f"intake answered {response.status_code}: {response.text[:500]}")
    return str(response.json()["case_no"]), sent, t201


def run_once(stack: Stack, url: str, token: str, options: TraceOptions) -> Run:
    reset_simulator(stack)
    report, scenario = trace_tree(uuid.uuid4().int % 10**9, dt.datetime.now(dt.UTC))
    with stack.simulator() as sim:
        sim.post("/admin/scenario", json=scenario).raise_for_status()
    case_no, sent, t201 = post_report(stack, token, report)
    wait_done(url, case_no, time.monotonic() + options.timeout)
    limit, levels, rows = chain_limit(url, case_no)
    stops = [r for r in rows if r[3] == "stop_payment"]
    outcomes: dict[str, int] = {}
    for r in stops:
        outcomes[r[4]] = outcomes.get(r[4], 0) + 1
    applied = [e["idempotency_key"] for e in ledger(stack, case_no) if e["entry"] == "applied"]
    return Run(
        case_no=case_no,
        post_ms=(t201 - sent) * 1000,
        done_s=max(float(r[6]) for r in stops) - t201,
        acked_s=max(float(r[7]) for r in stops) - t201,
        limit_s=limit,
        stops=len(stops),
        levels=levels,
        outcomes=outcomes,
        most_attempts=max(r[5] for r in rows),
        once=sorted(applied) == sorted(r[2] for r in rows),
    )


def measure(url: str, options: TraceOptions, logs: Path) -> tuple[list[Run], Run, dict[str, str]]:
    """The warm-up case, then `--repeat` measured ones; (runs, warm-up, peak memory)."""
    token = prepare_database(url)
    stack = bench_stack(
        url, logs, pool="threads", processes=options.processes, concurrency=options.concurrency
    )
    with stopped_after(stack):
        start_stack(stack, options.processes)
        warmup = run_once(stack, url, token, options)
        runs = []
        for i in range(options.repeat):
            runs.append(run_once(stack, url, token, options))
            r = runs[-1]
            print(
                f"case {i + 1}: completed {r.done_s:.2f} s, limit {r.limit_s:.2f} s, "
                f"{r.stops} stops {r.levels}",
                file=sys.stderr,
            )
        return runs, warmup, peak_memory(stack)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    wait_for_quiet(options.max_load)
    load_before = os.getloadavg()[0]
    clear_broker()
    url = create_database()
    try:
        with tempfile.TemporaryDirectory(prefix="stopay-trace-") as logs:
            runs, warmup, rss = measure(url, options, Path(logs))
    finally:
        drop_database(url)
        clear_broker()
    section = render(runs, warmup, options, load=(load_before, os.getloadavg()[0]), rss=rss)
    write_section(options.out, section, heading=HEADING)
    print(section)
    print(f"Written to {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
