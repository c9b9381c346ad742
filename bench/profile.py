"""Where the CPU goes: one fan-out case profiled, the API and the worker with py-spy and
PostgreSQL with pg_stat_statements (issue 19).

The stack is bench/fanout.py's (threads pool, `--processes` worker processes of
`--concurrency`), on a throw-away database on the bench's own PostgreSQL server
(bench/support/pgserver.py), which loads `pg_stat_statements`. One warm-up case runs
unprofiled (with its bare-client half, as in the fan-out bench). Then the statistics are
reset, py-spy is attached to the API and to the worker (each process group's leader, with
`--subprocesses`: the worker's processes, several API processes if STOPAY_API_WORKERS says so;
`--nonblocking`, so the profiled processes are never paused; 100 samples a second of every
thread that is not idle), and our path of one case runs: the 158-instruction case posted, every
instruction acked and done, every callback acknowledged and the stack quiet again. The
profilers stop there.

Written to BENCHMARKS.md under `## Where the CPU goes (issue 19)`, in a sub-section named by
`--label` ("before" by default; run it again with `--label after` once the hot paths are
cheaper, and both stand side by side): for the API and for the worker, the top 10 functions
by own samples (running, not calling) and the top 10 of our own functions (app/, workers/) by
total samples (on the stack); for PostgreSQL, the top 10 statements by total execution time,
with calls and rows. The bench's own statements (its poll; marked `/* bench */`) are left
out. The raw profiles (py-spy's collapsed stacks) are kept with the logs (`--logs DIR`).

    .venv/bin/python -m bench.profile [--label before] [--processes 2] [--concurrency 100]
        [--out BENCHMARKS.md] [--logs DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.fanout_figures import per_instruction_ms
from bench.fanout_paths import STACK, Bench, open_watch, run_once, run_ours
from bench.profile_figures import (
    Statement,
    ours_table,
    own_table,
    parse_collapsed,
    sql_summary,
    sql_table,
)
from bench.support.cpu import cpu_delta
from bench.support.db import create_database, libpq, prepare_database
from bench.support.pgserver import OwnPostgres
from bench.support.report import git_commit, log_dir, machine, write_subsection
from bench.support.simulator import reset_simulator
from bench.support.stack import Stack, bench_stack, clear_broker, start_stack, stopped_after

HEADING = "## Where the CPU goes (issue 19)"
PROFILED = ("api", "worker")
INTRO = """\
One fan-out case (bench/fanout.py's: 158 instructions, threads pool, 2 worker processes of
concurrency 100), our path only, profiled by `python -m bench.profile` (see its docstring):
py-spy attached to the API and the worker (100 samples a second of each thread that is not
idle: a sample is about 10 ms of CPU), and `pg_stat_statements` on the bench's own
PostgreSQL. "Own" samples are those where the function itself was running; "total", those
where it was anywhere on the stack. One sub-section per label (before / after the work of
issue 19).
"""
STATEMENTS_SQL = """
SELECT s.query, s.calls, s.total_exec_time, s.rows
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = %s AND s.query NOT LIKE '%%/* bench */%%'
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--label", default="before", help="the sub-section: before, after, ...")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=100, help="threads per worker")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--logs", type=Path, default=None, help="keep logs and profiles here")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    return parser.parse_args(argv)


def py_spy() -> str:
    found = shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if found is None:
        raise RuntimeError("py-spy is not installed (pip install -e '.[dev]')")
    return found


def start_profilers(stack: Stack, logs: Path) -> dict[str, subprocess.Popen[bytes]]:
    """py-spy recording each profiled process group until told to stop (SIGINT)."""
    profilers = {}
    for name in PROFILED:
        argv = [py_spy(), "record", "--pid", str(stack.processes[name].pid), "--subprocesses"]
        argv += ["--nonblocking", "--full-filenames", "--rate", "100", "--format", "raw"]
        argv += ["--output", str(logs / f"{name}.collapsed.txt")]
        with (logs / f"{name}.py-spy.log").open("ab") as log:
            profilers[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    return profilers


def stop_profilers(profilers: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in profilers.values():
        process.send_signal(signal.SIGINT)
    for name, process in profilers.items():
        if process.wait(timeout=60) != 0:
            raise RuntimeError(f"py-spy on the {name} exited {process.returncode}")


def statements(server: OwnPostgres, database: str, *, reset: bool = False) -> list[Statement]:
    with psycopg.connect(libpq(server.admin_url), autocommit=True) as conn:
        if reset:
            conn.execute("SELECT pg_stat_statements_reset()")
            return []
        rows = conn.execute(STATEMENTS_SQL, (database,)).fetchall()
    return [Statement(q, int(calls), float(ms), int(n)) for q, calls, ms, n in rows]


def profile_case(bench: Bench, logs: Path) -> dict[str, Any]:
    """Our path of one case under the profilers; what the sub-section needs."""
    database = str(make_url(bench.url).database)
    run_once(bench)  # the warm-up, unprofiled
    reset_simulator(bench.stack)
    statements(bench.server, database, reset=True)
    profilers = start_profilers(bench.stack, logs)
    try:
        before = bench.cpu()
        ours, done = run_ours(bench)
    finally:
        stop_profilers(profilers)
    return {
        "instructions": len(ours.instructions),
        "cpu": cpu_delta(before, done),
        "samples": {
            name: parse_collapsed((logs / f"{name}.collapsed.txt").read_text()) for name in PROFILED
        },
        "statements": statements(bench.server, database),
    }


def render(found: dict[str, Any], label: str, command: str) -> str:
    n, cpu = found["instructions"], found["cpu"]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    parts = ", ".join(f"{name} {per_instruction_ms(cpu, (name,), n):.1f} ms" for name in STACK)
    text = (
        f"### {label}\n\n- command: `{command}`\n- date (UTC): {now}\n"
        f"- machine: {machine()}; 1-minute load average {os.getloadavg()[0]:.2f} at the end\n"
        f"- commit: {git_commit()}\n"
        f"- stack CPU per instruction while profiled: {per_instruction_ms(cpu, STACK, n):.1f} "
        f"ms ({parts}; the profilers' own CPU is not in it)\n\n"
    )
    for name, title in (("api", "API"), ("worker", "Worker")):
        samples = found["samples"][name]
        text += (
            f"{title}: {samples.count} samples ({samples.count / n:.1f} per instruction).\n\n"
            f"{own_table(samples)}\n\n{ours_table(samples)}\n\n"
        )
    text += (
        f"PostgreSQL: {sql_summary(found['statements'], n)}; the top 10 by time:\n\n"
        f"{sql_table(found['statements'])}\n"
    )
    return text


def measure(options: argparse.Namespace, server: OwnPostgres, logs: Path) -> dict[str, Any]:
    url = create_database(server.admin_url)
    token = prepare_database(url)
    stack = bench_stack(
        url, logs, pool="threads", processes=options.processes, concurrency=options.concurrency
    )
    with stopped_after(stack):
        start_stack(stack, options.processes)
        with open_watch(url) as watch:
            bench = Bench(stack, url, token, server, watch, "db", options.timeout)
            return profile_case(bench, logs)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    command = (
        f".venv/bin/python -m bench.profile --label {options.label} --processes "
        f"{options.processes} --concurrency {options.concurrency} --out {options.out}"
    )
    clear_broker()
    server = OwnPostgres()
    try:
        server.start()
        with log_dir(options.logs, "stopay-profile-") as logs:
            found = measure(options, server, logs)
    finally:
        server.stop()
        clear_broker()
    text = render(found, options.label, command)
    write_subsection(options.out, text, heading=HEADING, intro=INTRO)
    print(text)
    print(f"Written to {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
