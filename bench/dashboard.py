"""Dashboard benchmark: how fast the supervisors' API answers with a busy database.

What is measured: the dashboard's GET endpoints (`/api/v1/dashboard/overview`, `queue`,
`deadlines`, `escalations`, `completion`) on the real API process (`python -m app.cli api`,
one uvicorn process) against the real PostgreSQL server, one request at a time, as a
supervisor of the municipal centre (who sees every case).

How: a throw-away database is created, migrated and seeded with the registry, then filled
by bulk SQL (INSERT ... SELECT over generate_series, a few seconds) with `--cases` cases
received over the last 7 days, 9 suspect accounts each (levels 1-3, every tenth case sharing
an account with the next), one stop-payment per account plus the platform registration
(10 instructions per case: 20,000 for 2,000 cases) in every state and outcome (done,
pending, sent, escalated, expired), an audit event per instruction, and ANALYZE. After
`--warmup` requests per endpoint, each endpoint is asked `--requests` times in turn; latency
is from the start of the request to the full body on a kept-alive connection. The API is
stopped and the database dropped afterwards, even on failure.

    .venv/bin/python -m bench.dashboard [--cases 2000] [--requests 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.support.api import start_api, stop_api, wait_ready
from bench.support.db import create_database, drop_database, prepare_supervisor, seed_dashboard
from bench.support.report import git_commit, machine, percentile, write_section
from bench.support.stack import free_port

HEADING = "## Dashboard (bench/dashboard.py)"
TARGET_P95_MS = 100.0
ENDPOINTS = ("overview", "queue", "deadlines", "escalations", "completion")


@dataclass(frozen=True)
class Options:
    cases: int
    requests: int
    warmup: int
    out: Path

    @property
    def command(self) -> str:
        return (
            f".venv/bin/python -m bench.dashboard --cases {self.cases} "
            f"--requests {self.requests} --out {self.out}"
        )


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="per endpoint, not counted")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    a = parser.parse_args(argv)
    return Options(cases=a.cases, requests=a.requests, warmup=a.warmup, out=a.out)


def measure(base_url: str, token: str, options: Options) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for round_ in range(options.warmup + options.requests):
            for name in ENDPOINTS:
                started = time.perf_counter()
                answer = client.get(f"/api/v1/dashboard/{name}")
                elapsed = (time.perf_counter() - started) * 1000
                answer.raise_for_status()
                if round_ >= options.warmup:
                    samples[name].append(elapsed)
    return samples


def render(
    samples: dict[str, list[float]],
    rows: dict[str, int],
    options: Options,
    sizes: dict[str, int],
    load: tuple[float, float],
) -> str:
    worst = max(percentile(v, 95) for v in samples.values())
    lines = [
        HEADING,
        "",
        "The supervisors' API over a database of many cases, one request at a time against "
        "the real API process and PostgreSQL server (see the script's docstring for the data).",
        "",
        f"- command: `{options.command}`",
        f"- date (UTC): {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        f"- machine: {machine()}; 1-minute load average {load[0]:.2f} before the run, "
        f"{load[1]:.2f} at its end",
        f"- commit: {git_commit()}",
        "- rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()),
        "",
        "| endpoint | answer size | p50 | p95 | p99 | max |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, values in samples.items():
        lines.append(
            f"| GET /api/v1/dashboard/{name} | {sizes[name] / 1024:.1f} KiB "
            f"| {statistics.median(values):.1f} ms | {percentile(values, 95):.1f} ms "
            f"| {percentile(values, 99):.1f} ms | {max(values):.1f} ms |"
        )
    verdict = "PASS" if worst < TARGET_P95_MS else "FAIL"
    lines += [
        "",
        f"Target (issue 7): every endpoint under {TARGET_P95_MS:.0f} ms at p95 with 2,000 cases "
        f"and 20,000 instructions: **{verdict}** (worst p95 {worst:.1f} ms).",
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
            before = os.getloadavg()[0]
            samples = measure(base_url, token, options)
            with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as c:
                sizes = {n: len(c.get(f"/api/v1/dashboard/{n}").content) for n in ENDPOINTS}
            return render(samples, rows, options, sizes, (before, os.getloadavg()[0]))
        finally:
            stop_api(proc)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    url = create_database()
    try:
        token = prepare_supervisor(url)
        started = time.perf_counter()
        rows = seed_dashboard(url, options.cases)
        print(f"seeded in {time.perf_counter() - started:.1f} s: {rows}")
        section = run(url, token, options, rows)
    finally:
        drop_database(url)
    print(section)
    write_section(options.out, section, heading=HEADING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
