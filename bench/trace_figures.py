"""The follow-the-money benchmark's section of BENCHMARKS.md (pure functions over what
bench/trace.py measured)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.support.report import git_commit, machine

HEADING = "## Follow the money (bench/trace.py)"
TARGET_RATIO = 1.2
INTRO = (
    "The 157-account tree of the fan-out benchmark, but the report names only the 40\n"
    "level-1 accounts: the simulated institutions (a scenario loaded by the script) report\n"
    "the 60 level-2 and 57 level-3 accounts as onward transfers in their callbacks, and the\n"
    "service stops them by itself. Each level-1 and level-2 account kept half of what came\n"
    "in. Ack 100-300 ms and processing 500-3000 ms per request, drawn by the simulator\n"
    'from the seed and the request\'s key; "limit" is the longest chain level 1 → 2 → 3 of\n'
    "those draws: nobody can finish sooner.\n\n"
)


@dataclass(frozen=True)
class TraceOptions:
    repeat: int
    processes: int
    concurrency: int
    max_load: float | None
    timeout: float
    out: Path

    @property
    def command(self) -> str:
        quiet = "" if self.max_load is None else f" --max-load {self.max_load:g}"
        return (
            f".venv/bin/python -m bench.trace --repeat {self.repeat} --processes "
            f"{self.processes} --concurrency {self.concurrency}{quiet} --out {self.out}"
        )


@dataclass
class Run:
    case_no: str
    post_ms: float
    done_s: float  # 201 -> the last stop-payment completed
    acked_s: float  # 201 -> the last stop-payment acked
    limit_s: float  # the longest chain of drawn delays
    stops: int
    levels: dict[int, int]
    outcomes: dict[str, int]
    most_attempts: int
    once: bool


def _row(
    name: str, values: list[float], fmt: str, worst: Callable[[list[float]], float] = max
) -> str:
    cells = ", ".join(fmt.format(v) for v in values)
    return (
        f"| {name} | {fmt.format(statistics.median(values))} | "
        f"{fmt.format(worst(values))} | {cells} |"
    )


def figures_table(runs: list[Run]) -> str:
    ratios = [r.done_s / r.limit_s for r in runs]
    return "\n".join(
        [
            "| figure | median | worst | each case |",
            "| --- | --- | --- | --- |",
            _row("intake: POST → 201", [r.post_ms for r in runs], "{:.0f} ms"),
            _row("201 → every stop-payment acked", [r.acked_s for r in runs], "{:.2f} s"),
            _row("201 → every stop-payment completed", [r.done_s for r in runs], "{:.2f} s"),
            _row("limit: longest chain of drawn delays", [r.limit_s for r in runs], "{:.2f} s"),
            _row("ratio completed / limit", ratios, "{:.2f}"),
            _row("stop-payments", [float(r.stops) for r in runs], "{:.0f}", worst=min),
            _row(
                "most attempts of one instruction", [float(r.most_attempts) for r in runs], "{:.0f}"
            ),
        ]
    )


def render(
    runs: list[Run],
    warmup: Run,
    options: TraceOptions,
    *,
    load: tuple[float, float],
    rss: dict[str, str],
) -> str:
    worst = max(r.done_s / r.limit_s for r in runs)
    levels = ", ".join(f"level {k}: {v}" for k, v in sorted(runs[-1].levels.items()))
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(runs[-1].outcomes.items()))
    once = sum(r.once for r in runs)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"{HEADING}\n\n{INTRO}"
        f"- command: `{options.command}`\n"
        f"- date (UTC): {now}\n"
        f"- machine: {machine()}; 1-minute load average {load[0]:.2f} before the run, "
        f"{load[1]:.2f} at its end\n"
        f"- commit: {git_commit()}\n"
        f"- peak RSS (VmHWM): " + ", ".join(f"{k} {v}" for k, v in rss.items()) + "\n"
        f"- warm-up case (not counted): completed {warmup.done_s:.2f} s, limit "
        f"{warmup.limit_s:.2f} s\n"
        f"- last case: stop-payments by level ({levels}); outcomes ({outcomes})\n\n"
        f"{figures_table(runs)}\n\n"
        f"Target (issue 5), worst case: every stop-payment completed within {TARGET_RATIO:g}x "
        f"of the limit: **{'PASS' if worst <= TARGET_RATIO else 'MISS'}** ({worst:.2f}x). "
        f"Applied exactly once (simulator ledger): yes in {once} of {len(runs)} cases.\n"
    )
