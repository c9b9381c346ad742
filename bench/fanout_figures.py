"""The fan-out benchmark's figures and its sub-section of BENCHMARKS.md (pure functions over
what bench/fanout.py measured)."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.fanout_faults import FaultMix, fault_figures, fault_table, fault_verdict
from bench.fanout_paths import STACK, Run
from bench.support.report import git_commit, machine, percentile
from bench.support.simulator import applied_once

# The issues' targets: every instruction acked within 1 s of the 201, and every outcome in
# within 1.05x of the bare client (issue 19; 1.2x before it).
TARGET_ACK_S = 1.0
TARGET_RATIO = 1.05
TARGET_STACK_MS = 4.0  # issue 19: stack CPU per instruction, from 12.7 ms


@dataclass
class Results:
    load_before: float  # 1-minute load average: how busy the machine was
    load_after: float = 0.0
    warmup: Run | None = None
    runs: list[Run] = field(default_factory=list)
    rss_mib: dict[str, str] = field(default_factory=dict)
    faults: FaultMix | None = None


def epoch(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


def ledger_times(entries: list[dict[str, Any]], entry: str) -> dict[str, float]:
    """When each key first got an entry of this kind (received, applied, ...)."""
    times: dict[str, float] = {}
    for e in entries:
        if e["entry"] == entry:
            times.setdefault(e["idempotency_key"], epoch(e["at"]))
    return times


def run_figures(run: Run) -> dict[str, float]:
    """The headline figures of one case, in seconds unless named otherwise."""
    ours, bare = run.ours, run.bare
    level1 = [
        i for i in ours.instructions if ours.levels.get((i["institution"], i["account_no"])) == 1
    ]
    keys = {s.key for s in run.sent}
    done = max(epoch(i["completed_at"]) for i in ours.instructions) - ours.t201
    bare_done = max(bare.callbacks.values()) - bare.t_send
    limit = max(s.draw_s for s in run.sent)
    return {
        "instructions": len(ours.instructions),
        "post_ms": ours.post_ms,
        "dispatch": max(epoch(i["first_attempt_at"]) for i in ours.instructions) - ours.t201,
        "ack": max(epoch(i["acked_at"]) for i in ours.instructions) - ours.t201,
        "ack_level1": max(epoch(i["acked_at"]) for i in level1) - ours.t201,
        "done": done,
        "bare_ack": max(bare.acks.values()) - bare.t_send,
        "bare_done": bare_done,
        "limit": limit,
        "ratio_bare": done / bare_done,
        "ratio_limit": done / limit,
        "once": float(applied_once(ours.ledger, keys) and applied_once(bare.ledger, keys)),
        "attempts": max(s.attempts for s in run.sent),
        "stopped_full": sum(i["outcome"] == "stopped_full" for i in ours.instructions),
    }


def our_stages(run: Run) -> dict[str, list[float]]:
    """Per instruction: where its time went on our path (seconds)."""
    received = ledger_times(run.ours.ledger, "received")
    applied = ledger_times(run.ours.ledger, "applied")
    by_id = {i["id"]: i for i in run.ours.instructions}
    stages: dict[str, list[float]] = {}
    for item in run.sent:
        instruction = by_id[item.instruction_id]
        first = epoch(instruction["first_attempt_at"])
        acked, completed = epoch(instruction["acked_at"]), epoch(instruction["completed_at"])
        sim_in, sim_out = received[item.key], applied[item.key]
        for name, value in (
            ("201 → worker starts the attempt", first - run.ours.t201),
            ("attempt start → request at the institution", sim_in - first),
            ("202 sent → ack recorded (acked_at)", acked - sim_in - item.ack_ms / 1000),
            ("institution: beyond its drawn delay", sim_out - sim_in - item.draw_s),
            ("outcome applied → callback recorded", completed - sim_out),
            ("201 → completed, beyond its own draw", completed - run.ours.t201 - item.draw_s),
        ):
            stages.setdefault(name, []).append(value)
    return stages


def bare_stages(run: Run) -> dict[str, list[float]]:
    """Per request: where its time went on the bare client's path (seconds)."""
    received = ledger_times(run.bare.ledger, "received")
    applied = ledger_times(run.bare.ledger, "applied")
    stages: dict[str, list[float]] = {}
    for item in run.sent:
        sim_in, sim_out = received[item.key], applied[item.key]
        for name, value in (
            ("first send → request at the institution", sim_in - run.bare.t_send),
            ("202 sent → 202 received", run.bare.acks[item.key] - sim_in - item.ack_ms / 1000),
            ("institution: beyond its drawn delay", sim_out - sim_in - item.draw_s),
            ("outcome applied → callback received", run.bare.callbacks[item.key] - sim_out),
            (
                "first send → completed, beyond its own draw",
                run.bare.callbacks[item.key] - run.bare.t_send - item.draw_s,
            ),
        ):
            stages.setdefault(name, []).append(value)
    return stages


# --- The report -------------------------------------------------------------------------

INTRO = """\
One report: a victim's card pays 40 level-1 accounts, which pay 60 level-2 accounts, which pay
57 level-3 accounts (157 transfers, 157 suspect accounts at 10 banks and 2 payment
institutions): 158 instructions (157 stop-payments and one `register` at the national
platform). API, worker, beat and the simulator run as separate processes
(`python -m app.cli …`) against the local PostgreSQL and Redis; the simulated institutions ack
in 100-300 ms and call back 500-3000 ms after the ack, without faults or rate limits, and every
stop ends `stopped_full`. Our times run from the 201 to the instructions' own `acked_at` and
`completed_at`. The bare client sends the same 158 requests (same idempotency keys and bodies,
read from our database, after `POST /admin/reset`: the simulator draws each request's delays
from seed, key and attempt number, so both paths face the same delays) all at once, from one
aiohttp session per institution (the HTTP client our worker uses) straight to the simulator,
with callbacks to a receiver in the bench process. "Limit" is the longest ack + processing
delay drawn for any of the 158: no client can finish sooner. Median and worst over the
measured cases, after one warm-up case. The machine is shared: other people's tests may run
at the same time (see the load averages).
"""

# (key, label, format, worse is higher)
ROWS: tuple[tuple[str, str, str, bool], ...] = (
    ("post_ms", "intake: POST → 201", "{:.0f} ms", True),
    ("dispatch", "201 → last instruction's first attempt", "{:.2f} s", True),
    ("ack_level1", "201 → all level-1 instructions acked", "{:.2f} s", True),
    ("ack", "201 → all acked", "{:.2f} s", True),
    ("done", "201 → all completed", "{:.2f} s", True),
    ("bare_ack", "bare client: all acked (last 202)", "{:.2f} s", True),
    ("bare_done", "bare client: all completed (last callback)", "{:.2f} s", True),
    ("limit", "limit: longest drawn ack + processing", "{:.2f} s", True),
    ("ratio_bare", "completion ratio ours / bare", "{:.2f}", True),
    ("ratio_limit", "completion ratio ours / limit", "{:.2f}", True),
    ("attempts", "most attempts of one instruction", "{:.0f}", True),
    ("stopped_full", "stop-payments `stopped_full`", "{:.0f}", False),
)


def figures_table(per_run: list[dict[str, float]]) -> str:
    lines = ["| figure | median | worst | each case |", "| --- | --- | --- | --- |"]
    for key, label, fmt, higher_is_worse in ROWS:
        values = [f[key] for f in per_run]
        worst = max(values) if higher_is_worse else min(values)
        each = ", ".join(fmt.format(v) for v in values)
        med = fmt.format(statistics.median(values))
        lines.append(f"| {label} | {med} | {fmt.format(worst)} | {each} |")
    return "\n".join(lines)


def stages_table(stages: list[dict[str, list[float]]], title: str) -> str:
    """Median, p95 and max per stage over every instruction of every measured case."""
    pooled: dict[str, list[float]] = {}
    for run in stages:
        for name, values in run.items():
            pooled.setdefault(name, []).extend(values)
    lines = [f"| {title} | median | p95 | max |", "| --- | --- | --- | --- |"]
    for name, values in pooled.items():
        cells = [statistics.median(values), percentile(values, 95), max(values)]
        lines.append(f"| {name} | " + " | ".join(f"{v * 1000:.0f} ms" for v in cells) + " |")
    return "\n".join(lines)


CPU_LABELS = {
    "worker": "worker",
    "api": "API",
    "simulator": "simulator",
    "beat": "beat",
    "postgres": "PostgreSQL backends of the bench database",
    "postgres_other": "PostgreSQL's other processes (postmaster, WAL writer, checkpointer)",
    "bench": "this bench process (poll; bare client and its callback receiver)",
    "rest": "rest of the machine (Redis, the shared PostgreSQL, anything else running)",
    "wall": "wall-clock time",
}


def per_instruction_ms(cpu: dict[str, float], names: tuple[str, ...], instructions: int) -> float:
    """CPU milliseconds per instruction of the named rows of one path's CPU seconds."""
    return sum(cpu[name] for name in names) / instructions * 1000


def cpu_figures(run: Run) -> dict[str, float]:
    """CPU ms per instruction of one case: our stack on our path and (idle) on the bare
    client's, the bare client itself (this process), and the simulator on each."""
    n = len(run.sent)
    return {
        "stack": per_instruction_ms(run.cpu_ours, STACK, n),
        "stack_idle": per_instruction_ms(run.cpu_bare, STACK, n),
        "bare_client": per_instruction_ms(run.cpu_bare, ("bench",), n),
        "simulator": per_instruction_ms(run.cpu_ours, ("simulator",), n),
        "bare_simulator": per_instruction_ms(run.cpu_bare, ("simulator",), n),
        **{name: per_instruction_ms(run.cpu_ours, (name,), n) for name in STACK},
    }


def cpu_table(runs: list[Run]) -> str:
    """Median CPU seconds per process over the cases, for each path; then per instruction."""
    lines = ["| CPU seconds per case (median) | our path | bare client |", "| --- | --- | --- |"]
    for name, label in CPU_LABELS.items():
        ours = statistics.median(r.cpu_ours[name] for r in runs)
        bare = statistics.median(r.cpu_bare[name] for r in runs)
        lines.append(f"| {label} | {ours:.2f} | {bare:.2f} |")
    f = [cpu_figures(r) for r in runs]

    def med(key: str) -> str:
        return f"{statistics.median(x[key] for x in f):.1f} ms"

    parts = ", ".join(f"{CPU_LABELS[name].split(' of ')[0]} {med(name)}" for name in STACK)
    lines += [
        "",
        "| CPU per instruction (median) | our path | bare client |",
        "| --- | --- | --- |",
        f"| **stack**: API + worker + beat + PostgreSQL backends | **{med('stack')}** "
        f"({parts}) | {med('stack_idle')} (idle beside the bare client) |",
        f"| the client: the bare client and its callback receiver (this process) | "
        f"| **{med('bare_client')}** |",
        f"| simulator (apart: a real institution is not on our machine) | {med('simulator')} "
        f"| {med('bare_simulator')} |",
    ]
    return "\n".join(lines)


def verdicts(per_run: list[dict[str, float]], runs: list[Run]) -> str:
    ack = max(f["ack"] for f in per_run)
    ratio = max(f["ratio_bare"] for f in per_run)
    once = sum(f["once"] for f in per_run)
    stack = statistics.median(cpu_figures(r)["stack"] for r in runs)
    bare = statistics.median(cpu_figures(r)["bare_client"] for r in runs)
    return (
        f"Targets (from the issue), worst case: all acked within {TARGET_ACK_S:g} s of the 201: "
        f"**{'PASS' if ack <= TARGET_ACK_S else 'MISS'}** ({ack:.2f} s); completion within "
        f"{TARGET_RATIO:g}x of the bare client: "
        f"**{'PASS' if ratio <= TARGET_RATIO else 'MISS'}** ({ratio:.2f}x). Applied exactly "
        f"once (simulator ledger, both paths): {'yes' if once == len(per_run) else 'NO'} in "
        f"{once:.0f} of {len(per_run)} cases. Stack CPU per instruction (median) at most "
        f"{TARGET_STACK_MS:g} ms: **{'PASS' if stack <= TARGET_STACK_MS else 'MISS'}** "
        f"({stack:.1f} ms; the bare client {bare:.1f} ms in the same run).\n"
    )


def header(results: Results, *, config: str, command: str, warm: str) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    rss = ", ".join(f"{name} {value}" for name, value in results.rss_mib.items())
    return (
        f"### Worker: {config}\n\n"
        f"- command: `{command}`\n"
        f"- date (UTC): {now}\n"
        f"- machine: {machine()}; 1-minute load average {results.load_before:.2f} before the "
        f"run, {results.load_after:.2f} at its end\n"
        f"- commit: {git_commit()}\n"
        f"- peak RSS (VmHWM): {rss}\n{warm}\n"
    )


def render_config(results: Results, *, config: str, command: str) -> str:
    """The `### Worker: <config>` sub-section of one run."""
    if results.faults is not None:
        return render_faults(results, results.faults, config=config, command=command)
    per_run = [run_figures(run) for run in results.runs]
    warm = ""
    if results.warmup is not None:
        w = run_figures(results.warmup)
        warm = (
            f"- warm-up case (not counted): all acked {w['ack']:.2f} s, all completed "
            f"{w['done']:.2f} s, bare {w['bare_done']:.2f} s\n"
        )
    return (
        f"{header(results, config=config, command=command, warm=warm)}"
        f"{figures_table(per_run)}\n\n{verdicts(per_run, results.runs)}\n"
        f"Where the time goes, over all {len(per_run) * int(per_run[0]['instructions'])} "
        f'instructions of the measured cases ("beyond its drawn delay" subtracts the '
        f"simulated delay drawn for that request):\n\n"
        f"{stages_table([our_stages(r) for r in results.runs], 'our path')}\n\n"
        f"{stages_table([bare_stages(r) for r in results.runs], 'bare client')}\n\n"
        f"{cpu_table(results.runs)}\n"
    )


def render_faults(results: Results, mix: FaultMix, *, config: str, command: str) -> str:
    """The sub-section of a run under the fault mix (`--faults`)."""
    per_run = [fault_figures(run, mix) for run in results.runs]
    warm = ""
    if results.warmup is not None:
        w = fault_figures(results.warmup, mix)
        warm = (
            f"- warm-up case (not counted): healthy institutions completed {w['done']:.2f} s, "
            f"bare {w['bare_done']:.2f} s\n"
        )
    return (
        f"{header(results, config=config, command=command, warm=warm)}"
        f"{fault_table(per_run)}\n\n{fault_verdict(per_run, mix)}\n"
        f"CPU (includes our worker's retries of the hanging institution's instructions, of "
        f"this case and the ones before):\n\n{cpu_table(results.runs)}\n"
    )
