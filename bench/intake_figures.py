"""The intake benchmark's figures and its section of BENCHMARKS.md (pure functions over what
bench/intake.py measured)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.support.report import git_commit, machine, percentile

HEADING = "## Intake (bench/intake.py)"
# The target (issue 19): p95 under 50 ms at 40 cases/s with 20-transfer cases.
TARGET_P95_MS = 50.0
TARGET_RATE = 20.0
TARGET_TRANSFERS = 20


@dataclass(frozen=True)
class Options:
    rate: float
    duration: float
    transfers: int
    out: Path

    @property
    def command(self) -> str:
        return (
            f".venv/bin/python -m bench.intake --rate {self.rate:g} "
            f"--duration {self.duration:g} --transfers {self.transfers} --out {self.out}"
        )


@dataclass(frozen=True)
class Sample:
    status: int
    sent_at: float  # perf_counter seconds
    done_at: float
    lag_s: float  # how late the client sent it against the schedule
    body_head: str

    @property
    def latency_ms(self) -> float:
        return (self.done_at - self.sent_at) * 1000


@dataclass(frozen=True)
class Results:
    warmup: list[Sample]  # sent one at a time: the service time without queueing
    samples: list[Sample]
    rows: dict[str, int]  # written during the timed run, per table
    peak_rss_kib: int
    load_before: float  # 1-minute load average when the run started: how busy the machine was


def failures(samples: list[Sample]) -> str:
    """Non-201 answers by status, e.g. "0" or "480 (timeout or connection error 470, 500 10)"."""
    by_status = Counter(s.status for s in samples if s.status != 201)
    if not by_status:
        return "0"
    parts = [
        f"{'timeout or connection error' if k == 0 else k} {n}"
        for k, n in sorted(by_status.items())
    ]
    return f"{sum(by_status.values())} ({', '.join(parts)})"


def figures(results: Results) -> dict[str, float]:
    samples = results.samples
    ok = [s for s in samples if s.status == 201]
    latencies = [s.latency_ms for s in samples]
    wall = max(s.done_at for s in samples) - min(s.sent_at for s in samples)
    return {
        "sent": len(samples),
        "created": len(ok),
        "errors": len(samples) - len(ok),
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "unloaded": statistics.median(
            s.latency_ms for s in results.warmup[len(results.warmup) // 2 :]
        ),
        "rate": len(ok) / wall,
        "rows": sum(results.rows.values()),
        "rows_per_s": sum(results.rows.values()) / wall,
        "instructions_per_s": results.rows["instruction"] / wall,
        "rss_mib": results.peak_rss_kib / 1024,
        "lag_max": max(s.lag_s for s in samples) * 1000,
    }


def verdict(f: dict[str, float], options: Options) -> str:
    if options.rate < TARGET_RATE or options.transfers < TARGET_TRANSFERS:
        return "not judged (run below the target's rate or case size)"
    met = f["p95"] < TARGET_P95_MS and f["errors"] == 0 and f["rate"] >= 0.95 * options.rate
    return f"**{'PASS' if met else 'MISS'}** (p95 {f['p95']:.1f} ms)"


def render(results: Results, options: Options) -> str:
    f = figures(results)
    per_table = ", ".join(f"{t} {n}" for t, n in results.rows.items())
    rows = [
        ("cases sent / answered 201", f"{f['sent']:.0f} / {f['created']:.0f}"),
        ("failed requests", failures(results.samples)),
        ("target rate", f"{options.rate:g} cases/s for {options.duration:g} s"),
        ("achieved rate", f"{f['rate']:.1f} cases/s ({f['instructions_per_s']:.0f} instr/s)"),
        ("latency p50", f"{f['p50']:.1f} ms"),
        ("latency p95", f"{f['p95']:.1f} ms"),
        ("latency p99", f"{f['p99']:.1f} ms"),
        ("latency max", f"{f['max']:.1f} ms"),
        (
            "unloaded latency",
            f"{f['unloaded']:.1f} ms (median of the last warm-up cases, sent one at a time)",
        ),
        ("rows written", f"{f['rows']:.0f} ({per_table})"),
        ("rows/s", f"{f['rows_per_s']:.0f}"),
        ("API peak RSS (VmHWM)", f"{f['rss_mib']:.0f} MiB"),
        ("client's worst send lag", f"{f['lag_max']:.1f} ms (how late a request left)"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"{HEADING}\n\n"
        f"`POST /api/v1/cases` on one uvicorn process against the real PostgreSQL, cases of\n"
        f"{options.transfers} transfers to distinct level-1 cards sent open-loop; latency is\n"
        f"send to full response, measured by a client on the same machine.\n\n"
        f"- command: `{options.command}`\n"
        f"- date (UTC): {now}\n"
        f"- machine: {machine()}; load average {results.load_before:.2f} before the run\n"
        f"- commit: {git_commit()}\n\n"
        f"| figure | value |\n| --- | --- |\n{table}\n\n"
        f"Target (issue 19): p95 under 50 ms at 40 cases/s with 20-transfer cases: "
        f"{verdict(f, options)}.\n"
    )
