"""The sustained-load benchmark's figures: each step's percentiles, whether it was held, and
the tables and sub-section of BENCHMARKS.md (pure functions over what bench/load.py
measured). A sub-section is named by its API and worker process counts, so runs at one and
two of either sit side by side."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

from bench.support.report import git_commit, machine, percentile

TARGET_P99_S = 1.0  # issue 9: raise the rate until the p99 dispatch delay passes 1 s
MIN_ACHIEVED = 0.95  # of the target rate, or the step is not held
PROCESS_NAMES = ("api", "worker", "beat", "simulator")
STACK = ("api", "worker", "beat", "postgres")  # issue 19's stack CPU per instruction
TARGET_STACK_MS = 4.0


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
    api_workers: int = 1  # uvicorn processes of the API (STOPAY_API_WORKERS)

    @property
    def command(self) -> str:
        rates = ",".join(f"{r:g}" for r in self.rates)
        quiet = "" if self.max_load is None else f" --max-load {self.max_load:g}"
        return (
            f".venv/bin/python -m bench.load --api-workers {self.api_workers} "
            f"--workers {self.workers} --step-s {self.step_s:g} "
            f"--rates {rates} --accounts {self.accounts} --concurrency {self.concurrency}"
            f"{quiet} --out {self.out}"
        )

    @property
    def config(self) -> str:
        """The sub-section's name: runs at other API or worker counts sit beside it."""
        return f"{processes(self.api_workers, 'API')}, {processes(self.workers, 'worker')}"


def processes(count: int, kind: str) -> str:
    """`1 API process`, `2 worker processes`."""
    return f"{count} {kind} process" + ("" if count == 1 else "es")


def api_processes(count: int) -> str:
    """The API's processes as the stack line names them: above one, uvicorn's supervisor
    starts them, and its CPU and memory count with theirs (one process group)."""
    if count == 1:
        return "1 uvicorn process"
    return f"{processes(count, 'uvicorn')} under uvicorn's supervisor, CPU and memory summed"


@dataclass(frozen=True)
class Posted:
    """One case sent, and how it was answered."""

    status: int  # 0: no answer (connection error or time-out)
    latency_ms: float
    lag_s: float  # how late the client sent it against the schedule
    answered_at: float  # epoch seconds: when the 201 (or the failure) came
    case_no: str | None
    detail: str = ""  # the start of an answer that was not a 201


@dataclass
class Step:
    """One rate held for a while: what was sent, and what became of it."""

    rate: float  # target cases/s
    duration_s: float  # first send to last answer
    posted: list[Posted]
    delays_s: list[float]  # per instruction: the 201 -> acked_at; inf if never acked
    max_attempts: int = 1
    queue_max: int = 0  # messages waiting in the broker's queue
    unacked_max: int = 0  # taken by a worker, not yet acknowledged
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds while the step sent
    db_xacts: int = 0  # transactions the database committed or rolled back meanwhile
    rss: dict[str, str] = field(default_factory=dict)  # peak RSS by the step's end
    # CPU seconds from the first send until every outcome of the step was in
    cpu_drained: dict[str, float] = field(default_factory=dict)


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


def step_figures(step: Step) -> dict[str, float]:
    """The figures of one step: latencies in ms, delays in s, rates per second."""
    created = sum(p.status == 201 for p in step.posted)
    latencies = [p.latency_ms for p in step.posted] or [0.0]
    delays = step.delays_s or [math.inf]
    return {
        "rate": step.rate,
        "sent": len(step.posted),
        "created": created,
        "errors": len(step.posted) - created,
        "cases_per_s": created / step.duration_s,
        "instructions_per_s": len(step.delays_s) / step.duration_s,
        "intake_p50": percentile(latencies, 50),
        "intake_p95": percentile(latencies, 95),
        "intake_p99": percentile(latencies, 99),
        "dispatch_p50": percentile(delays, 50),
        "dispatch_p95": percentile(delays, 95),
        "dispatch_p99": percentile(delays, 99),
        "not_acked": sum(math.isinf(d) for d in step.delays_s),
        "lag_max": max((p.lag_s for p in step.posted), default=0.0),
    }


def stop_reason(step: Step) -> str | None:
    """Why the step was not held (None: it was), in words for the report."""
    f = step_figures(step)
    reasons = []
    if f["errors"]:
        reasons.append(f"{f['errors']:.0f} of {f['sent']:.0f} requests not answered 201")
    if f["cases_per_s"] < MIN_ACHIEVED * step.rate:
        reasons.append(f"achieved {f['cases_per_s']:.1f} cases/s")
    if f["not_acked"]:
        reasons.append(f"{f['not_acked']:.0f} instructions not acked")
    if f["dispatch_p99"] > TARGET_P99_S:
        reasons.append(f"p99 dispatch delay {seconds(f['dispatch_p99'])}")
    return "; ".join(reasons) or None


def first_not_held(steps: list[Step]) -> int:
    """The index of the first step not held (len(steps) if every one was)."""
    return next((i for i, step in enumerate(steps) if stop_reason(step)), len(steps))


def highest_held(steps: list[Step]) -> Step | None:
    """The last step of the unbroken run of held steps from the first."""
    index = first_not_held(steps)
    return steps[index - 1] if index else None


def seconds(value: float) -> str:
    return "not acked" if math.isinf(value) else f"{value:.2f} s"


# --- Tables -----------------------------------------------------------------------------

CPU_COLUMNS = (
    ("api", "API"),
    ("worker", "worker"),
    ("simulator", "simulator"),
    ("beat", "beat"),
    ("postgres", "PostgreSQL"),
    ("postgres_other", "PostgreSQL other"),
    ("bench", "client"),
    ("rest", "rest"),
)


def load_table(steps: list[Step]) -> str:
    lines = [
        "| cases/s | sent / 201 | achieved cases/s (instr/s) | intake p50 / p95 / p99 "
        "| dispatch p50 / p95 / p99 | queue waiting / unacked | held |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for step in steps:
        f, reason = step_figures(step), stop_reason(step)
        lines.append(
            f"| {step.rate:g} | {f['sent']:.0f} / {f['created']:.0f} "
            f"| {f['cases_per_s']:.1f} ({f['instructions_per_s']:.0f}) "
            f"| {f['intake_p50']:.0f} / {f['intake_p95']:.0f} / {f['intake_p99']:.0f} ms "
            f"| {seconds(f['dispatch_p50'])} / {seconds(f['dispatch_p95'])} / "
            f"{seconds(f['dispatch_p99'])} | {step.queue_max} / {step.unacked_max} "
            f"| {'yes' if reason is None else 'no: ' + reason} |"
        )
    return "\n".join(lines)


def cpu_table(steps: list[Step]) -> str:
    head = " | ".join(label for _, label in CPU_COLUMNS)
    lines = [
        f"| cases/s | {head} | whole machine | database transactions/s |",
        "| --- " * (len(CPU_COLUMNS) + 3) + "|",
    ]
    for step in steps:
        wall = step.cpu.get("wall", step.duration_s) or step.duration_s
        cores = [step.cpu.get(name, 0.0) / wall for name, _ in CPU_COLUMNS]
        cells = " | ".join(f"{c:.2f}" for c in cores)
        lines.append(
            f"| {step.rate:g} | {cells} | {sum(cores):.2f} "
            f"| {step.db_xacts / step.duration_s:.0f} |"
        )
    return "\n".join(lines)


def per_instruction_ms(step: Step, names: tuple[str, ...]) -> float:
    """CPU ms per instruction of the named processes, over the step's sending and draining."""
    instructions = len(step.delays_s)
    if not instructions or not step.cpu_drained:
        return math.nan
    return sum(step.cpu_drained.get(name, 0.0) for name in names) / instructions * 1000


def instruction_cpu_table(steps: list[Step]) -> str:
    """Stack CPU per instruction (API + worker + beat + PostgreSQL backends), its parts and
    the simulator's, from the first send of a step until every outcome of it was in."""
    lines = [
        "| cases/s | stack CPU per instruction | API | worker | beat | PostgreSQL | simulator |",
        "| --- " * 7 + "|",
    ]
    for step in steps:
        cells = " | ".join(f"{per_instruction_ms(step, (n,)):.1f}" for n in STACK)
        lines.append(
            f"| {step.rate:g} | **{per_instruction_ms(step, STACK):.1f} ms** | {cells} "
            f"| {per_instruction_ms(step, ('simulator',)):.1f} |"
        )
    return "\n".join(lines)


def memory_table(steps: list[Step]) -> str:
    lines = ["| cases/s | " + " | ".join(PROCESS_NAMES) + " |", "| --- " * 5 + "|"]
    for step in steps:
        cells = " | ".join(step.rss.get(name, "") for name in PROCESS_NAMES)
        lines.append(f"| {step.rate:g} | {cells} |")
    return "\n".join(lines)


def headline(steps: list[Step]) -> str:
    best, index = highest_held(steps), first_not_held(steps)
    stopped = (
        f"stopped at {steps[index].rate:g} cases/s: {stop_reason(steps[index])}"
        if index < len(steps)
        else "every rate tried was held: the list of rates ran out"
    )
    if best is None:
        return f"**Highest rate held: none** ({stopped})."
    f = step_figures(best)
    return (
        f"**Highest rate held: {best.rate:g} cases/s ({f['instructions_per_s']:.0f} "
        f"instructions/s)**, p99 dispatch delay {seconds(f['dispatch_p99'])}, p99 intake "
        f"{f['intake_p99']:.0f} ms; {stopped}."
    )


# --- The sub-section ---------------------------------------------------------------------

INTRO = """\
The whole stack as separate processes (`python -m app.cli api|worker|beat|simulator`, started
as bench/fanout.py starts them) against a PostgreSQL server of the bench's own (its CPU is the
bench's alone: bench/support/pgserver.py) and the local Redis; the simulated
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
spent by the stack's processes, the bench's database server or the client: Redis, the shared
PostgreSQL, anyone else) shows how much; the load average at the end of a run counts the
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
        f"- stack: API ({api_processes(options.api_workers)}), worker "
        f"({options.workers} x threads pool of "
        f"{options.concurrency}), beat, simulator\n{note}\n"
        f"{headline(results.steps)}\n\n"
        f"{load_table(results.steps)}\n\n"
        f"CPU (cores) while each step sent:\n\n{cpu_table(results.steps)}\n\n"
        f"CPU per instruction (ms), from a step's first send until every outcome of it was in "
        f"(issue 19's target: stack at most {TARGET_STACK_MS:g} ms; the simulator apart):\n\n"
        f"{instruction_cpu_table(results.steps)}\n\n"
        f"Peak memory (VmHWM) by the end of each step:\n\n{memory_table(results.steps)}\n\n"
        f"Applied exactly once (simulator ledger): {once}, {results.instructions} "
        f"instructions (warm-up included); most attempts of one instruction: "
        f"{results.max_attempts}.\n"
    )
