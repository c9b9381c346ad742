"""Dashboard benchmark: how fast every supervisor's endpoint answers over a year of data.

What is measured, on the real API process (`python -m app.cli api`, one uvicorn process)
against the real PostgreSQL server, one request at a time, as a supervisor of the municipal
centre (who sees every case), with a bearer token:

- the dashboard's JSON API: `/api/v1/dashboard/overview`, `queue`, `deadlines`,
  `escalations`, `completion` (its own window, and the widest: `?hours=48`);
- the pages a supervisor loads: `/dashboard` (every panel rendered: overview, queue,
  deadlines, escalations, scorecard; `/dashboard/live` sends the same HTML when something
  changed, so its cost per render is this page's) and `/dashboard/cases/BENCH-BIG`, the case
  page of a case with 300 suspect accounts;
- the CSV exports: `/api/v1/cases/BENCH-BIG/export.csv`, `/api/v1/institutions/export.csv`
  (its default 24-hour window, and the widest the API allows: `?window_h=2160`, 90 days);
- `/api/v1/institutions`, the scorecard the dashboard's panel shows, as JSON.

How: a throw-away database is created, migrated and seeded with the registry, then filled by
bulk SQL (bench/dashboard_seed.py: `--cases` cases over the last 365 days, 10 instructions
each, in the states, outcomes, escalations, holds and returns a year leaves; 20,000 cases make
200,000 instructions) and VACUUM ANALYZE. After `--warmup` requests per endpoint, each endpoint
is asked `--requests` times in turn; latency is from the start of the request to the full body
on a kept-alive connection. The API is stopped and the database dropped afterwards, even on
failure.

    .venv/bin/python -m bench.dashboard [--cases 20000] [--requests 200] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bench.dashboard_seed import BIG_CASE, seed_year
from bench.support.api import start_api, stop_process, wait_ready
from bench.support.cpu import TICKS_PER_S, backends
from bench.support.db import create_database, drop_database, prepare_supervisor
from bench.support.report import git_commit, machine, percentile, write_section
from bench.support.stack import free_port

HEADING = "## Dashboard (bench/dashboard.py)"
# Issue 19's before/after tables and plans, written by hand: a run keeps them as they are.
KEPT = re.compile(r"<!-- issue19-dashboard:start -->.*?<!-- issue19-dashboard:end -->\n", re.S)
TARGET_P95_MS = 100.0
ENDPOINTS = (
    "/api/v1/dashboard/overview",
    "/api/v1/dashboard/queue",
    "/api/v1/dashboard/deadlines",
    "/api/v1/dashboard/escalations",
    "/api/v1/dashboard/completion",
    "/api/v1/dashboard/completion?hours=48",
    "/dashboard",
    f"/dashboard/cases/{BIG_CASE}",
    f"/api/v1/cases/{BIG_CASE}/export.csv",
    "/api/v1/institutions/export.csv",
    "/api/v1/institutions/export.csv?window_h=2160",
    "/api/v1/institutions",
)


@dataclass(frozen=True)
class Options:
    cases: int
    requests: int
    warmup: int
    only: str | None
    out: Path

    @property
    def command(self) -> str:
        return (
            f".venv/bin/python -m bench.dashboard --cases {self.cases} "
            f"--requests {self.requests} --out {self.out}"
        )


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=200, help="per endpoint")
    parser.add_argument("--warmup", type=int, default=10, help="per endpoint, not counted")
    parser.add_argument("--only", help="measure only the endpoints whose path contains this")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    a = parser.parse_args(argv)
    return Options(a.cases, a.requests, a.warmup, a.only, a.out)


def cpu_ticks(pids: set[int]) -> int:
    """CPU ticks (user + system) the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


@dataclass
class Samples:
    """Per endpoint: each request's latency (ms), and the CPU ticks the API process and the
    database's backends spent on all of them."""

    latency: dict[str, list[float]]
    ticks: dict[str, int]

    def cpu_ms(self, path: str) -> float:
        return self.ticks[path] * 1000 / TICKS_PER_S / len(self.latency[path])


def measure(client: httpx.Client, options: Options, api_pid: int, database: str) -> Samples:
    paths = [p for p in ENDPOINTS if options.only is None or options.only in p]
    samples = Samples({path: [] for path in paths}, dict.fromkeys(paths, 0))
    pids: set[int] = set()
    for round_ in range(options.warmup + options.requests):
        if round_ == options.warmup:  # the pool's connections are open by now
            pids = {api_pid, *backends(database)}
        for path in paths:
            ticks = cpu_ticks(pids)
            started = time.perf_counter()
            answer = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            answer.raise_for_status()
            if round_ >= options.warmup:
                samples.latency[path].append(elapsed)
                samples.ticks[path] += cpu_ticks(pids) - ticks
    return samples


def render(
    samples: Samples,
    rows: dict[str, int],
    options: Options,
    sizes: dict[str, int],
    load: tuple[float, float],
) -> str:
    worst = max(percentile(v, 95) for v in samples.latency.values())
    lines = [
        HEADING,
        "",
        "Every supervisor's endpoint over a year of data, one request at a time against the "
        "real API process and PostgreSQL server (see the script's docstring for the data).",
        "",
        f"- command: `{options.command}`",
        f"- date (UTC): {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        f"- machine: {machine()}; 1-minute load average {load[0]:.2f} before the run, "
        f"{load[1]:.2f} at its end",
        f"- commit: {git_commit()}",
        "- rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()),
        "",
        "CPU: the API process's and the database backends' CPU time per request (mean; "
        "from /proc), which others' load on the machine does not inflate as it does latency.",
        "",
        "| endpoint | answer size | p50 | p95 | p99 | max | CPU |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for path, values in samples.latency.items():
        lines.append(
            f"| GET {path} | {sizes[path] / 1024:.1f} KiB "
            f"| {statistics.median(values):.1f} ms | {percentile(values, 95):.1f} ms "
            f"| {percentile(values, 99):.1f} ms | {max(values):.1f} ms "
            f"| {samples.cpu_ms(path):.1f} ms |"
        )
    verdict = "PASS" if worst <= TARGET_P95_MS else "FAIL"
    lines += [
        "",
        f"Target (issue 19): every endpoint at most {TARGET_P95_MS:.0f} ms at p95 with 20,000 "
        f"cases and 200,000 instructions; this run, {rows.get('case', 0):,} cases and "
        f"{rows.get('instruction', 0):,} instructions: **{verdict}** (worst p95 {worst:.1f} ms).",
        "",
    ]
    return "\n".join(lines)


def run(url: str, token: str, options: Options, rows: dict[str, int]) -> str:
    """Start the API, measure every endpoint, stop it; returns the section."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as workdir:
        proc = start_api(url, port, Path(workdir) / "api.log")
        try:
            wait_ready(base_url, proc)
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
                before = os.getloadavg()[0]
                database = str(make_url(url).database)
                samples = measure(client, options, proc.pid, database)
                sizes = {path: len(client.get(path).content) for path in samples.latency}
            return render(samples, rows, options, sizes, (before, os.getloadavg()[0]))
        finally:
            stop_process(proc)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    url = create_database()
    try:
        token = prepare_supervisor(url)
        started = time.perf_counter()
        rows = seed_year(url, options.cases)
        print(f"seeded in {time.perf_counter() - started:.1f} s: {rows}")
        if os.environ.get("STOPAY_BENCH_KEEP_DB"):
            print(f"database kept for EXPLAIN: {url}")
        section = run(url, token, options, rows)
    finally:
        if not os.environ.get("STOPAY_BENCH_KEEP_DB"):
            drop_database(url)
    print(section)
    kept = KEPT.search(options.out.read_text()) if options.out.exists() else None
    write_section(options.out, section + ("\n" + kept.group(0) if kept else ""), heading=HEADING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
