"""Fan-out benchmark: one 157-account, 12-institution, three-level case, end to end.

What is measured: how long after the call-taker gets the 201 every instruction of a big case
is acknowledged by its institution, and how long until every outcome is in, compared with
the same requests sent by a bare asyncio HTTP client straight to the simulated institutions
in the same run, and with the institutions' own simulated latency (the physical limit).

The case: a victim's card pays 40 level-1 accounts, which pay 60 level-2 accounts, which pay
57 level-3 accounts: 157 transfers, 157 suspect accounts at 10 banks (non-card account
numbers) and 2 payment institutions (wallet ids). Intake gives each suspect account a
stop-payment and the case a `register` at the national platform: 158 instructions.

How: a throw-away database on a PostgreSQL server of the bench's own (bench/support/pgserver.py:
the installed PostgreSQL 15 started in a temporary folder; migrated, seeded, a call-taker with
an API token) and a Redis database of the bench's own (db 11, emptied before and after). The
server is the bench's own, rather than the shared one on 5432 with only the bench database's
backends summed, because every process of it is then a child of its postmaster: the CPU of
the backends that exited (a pool's overflow connection closed) is in the postmaster's
`cutime` and nothing is lost between two readings, nothing of other people's tests is
counted, and `pg_stat_statements` can be loaded (bench/profile.py). The
simulator, worker, beat and API run as separate processes exactly as the end-to-end tests
start them (bench/support/stack.py), the simulator with a bench profile: every institution acks
in 100-300 ms and calls back 500-3000 ms later, no injected faults, no rate limit, every
account keeps the money (each stop ends `stopped_full`), quick callback retries. One
unreported warm-up case runs first. Then, `--repeat` times:

1. Our path. The simulator is reset; the case is posted; t0 is when the 201 arrives. The
   bench watches the case every 50 ms until every instruction is acked, then done: by one
   aggregate query on our database (`--poll db`, the default) or by
   `GET /api/v1/cases/{case_no}` (`--poll api`; that read costs the API ~0.1 s of CPU, so
   polling it 20 times a second takes CPU from the very processes being measured), then
   reads the case once through the API (after the CPU reading: see below). The figures come
   from the instructions' own timestamps (written by the worker and the API), not from when
   the bench noticed: 201 -> last `acked_at`, 201 -> last `completed_at`. The simulator's
   ledger must show each instruction applied exactly once.
2. The bare client. The simulator's delays are drawn from (seed, idempotency key, attempt
   number), and `POST /admin/reset` forgets keys and attempt counts (simulator/faults.py,
   simulator/service.py). So after our path has finished, the simulator is reset and the
   bare client sends the very requests our adapters sent (the same idempotency keys and
   bodies, read from our database; only `callback_url` differs): each request draws the same
   ack and processing delays as ours did (when ours needed one attempt: the table says), and
   both paths face identical simulated latencies. All 158 go at once from one aiohttp
   session per institution (the worker's HTTP client); callbacks go to a receiver in the
   bench process (uvicorn, same event loop) that notes when each arrives. Figures: first
   send -> last 202, first send -> last callback.
3. The physical limit: the largest ack + processing delay the seed draws for any of the
   instructions (first attempt), computed here with the simulator's own `draw`.

Where the time goes is split per instruction with the simulator's ledger (when each request
arrived and when its outcome was applied), and the CPU seconds each process used during each
path are read from /proc (bench/support/cpu.py): our path's from just before the POST to
when every callback is acknowledged and the stack has gone quiet (what follows the last
callback, such as the roll-up, is counted; the bench's one read of the case through the API
is not), the bare client's from its first send to its last callback. The bench's own
connection to the database (its poll) is counted as the bench's, not PostgreSQL's. **Stack
CPU per instruction** is API + worker + beat + PostgreSQL backends over the 158
instructions; beside it, the bare client's CPU (this process during the bare path) per
instruction, and the simulator's, reported apart (a real institution is not on our machine).

`--faults` runs the same under a fault mix (bench/fanout_faults.py: one institution hanging,
one answering 429 past 2 calls a second) and reports how the healthy institutions' completion
compares with the bare client's, which faces the same faults. `--label` names a run ("before",
"after") so that two runs of one configuration stand side by side.

The median and the worst of each figure over the repeats are written to BENCHMARKS.md under
`## Fan-out (bench/fanout.py)`, one sub-section per worker pool, concurrency and poll mode (a
run replaces the sub-section of its own configuration and keeps the others). Everything runs
on this one machine, the bench client included: the figures are for the whole setup.

    .venv/bin/python -m bench.fanout [--repeat 3] [--pool threads] [--processes 2]
        [--concurrency 100] [--poll db|api] [--faults] [--label NAME] [--max-load 1.5]
        [--out BENCHMARKS.md] [--logs DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from bench.fanout_faults import FaultMix, fault_figures
from bench.fanout_figures import INTRO, Results, cpu_figures, render_config, run_figures
from bench.fanout_paths import Bench, Run, open_watch, run_once
from bench.support.cpu import peak_memory
from bench.support.db import create_database, prepare_database
from bench.support.pgserver import OwnPostgres
from bench.support.report import log_dir, wait_for_quiet, write_subsection
from bench.support.stack import bench_stack, clear_broker, start_stack, stopped_after

HEADING = "## Fan-out (bench/fanout.py)"


@dataclass(frozen=True)
class Options:
    repeat: int
    pool: str
    processes: int
    concurrency: int
    out: Path
    logs: Path | None
    timeout: float
    poll: str
    max_load: float | None
    faults: bool = False
    label: str = ""

    @property
    def command(self) -> str:
        quiet = "" if self.max_load is None else f" --max-load {self.max_load:g}"
        extra = (" --faults" if self.faults else "") + (f" --label {self.label}" * bool(self.label))
        return (
            f".venv/bin/python -m bench.fanout --repeat {self.repeat} --pool {self.pool} "
            f"--processes {self.processes} --concurrency {self.concurrency} --poll {self.poll}"
            f"{extra}{quiet} --out {self.out}"
        )

    @property
    def config(self) -> str:
        processes = "1 process" if self.processes == 1 else f"{self.processes} processes"
        faults = ", under the fault mix" if self.faults else ""
        label = f" ({self.label})" if self.label else ""
        return (
            f"{self.pool} pool, {processes} of concurrency {self.concurrency}, "
            f"polling the {self.poll}{faults}{label}"
        )


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="cases measured (default 3)")
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"])
    parser.add_argument("--concurrency", type=int, default=100, help="threads per worker process")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    parser.add_argument(
        "--poll",
        default="db",
        choices=["db", "api"],
        help="watch the case by a one-row query on the database (default) or by GET "
        "/api/v1/cases/{case_no}, which costs the API ~0.1 s of CPU a time",
    )
    parser.add_argument(
        "--max-load",
        type=float,
        default=None,
        help="first wait (at most 10 min) until the 1-minute load average is at most this",
    )
    parser.add_argument(
        "--faults", action="store_true", help="one institution hanging, one rate-limited"
    )
    parser.add_argument("--label", default="", help="names the run: before, after, ...")
    a = parser.parse_args(argv)
    if min(a.repeat, a.processes, a.concurrency) < 1:
        parser.error("--repeat, --processes and --concurrency must be at least 1")
    return Options(
        a.repeat,
        a.pool,
        a.processes,
        a.concurrency,
        a.out,
        a.logs,
        a.timeout,
        a.poll,
        a.max_load,
        a.faults,
        a.label,
    )


def progress(i: int, run: Run, mix: FaultMix | None) -> str:
    stack = cpu_figures(run)["stack"]
    if mix is not None:
        f = fault_figures(run, mix)
        return (
            f"case {i}: healthy completed {f['done']:.2f} s, bare {f['bare_done']:.2f} s "
            f"({f['ratio']:.2f}x), stack CPU {stack:.1f} ms/instruction"
        )
    f = run_figures(run)
    return (
        f"case {i}: acked {f['ack']:.2f} s, completed {f['done']:.2f} s, bare "
        f"{f['bare_done']:.2f} s, limit {f['limit']:.2f} s, stack CPU {stack:.1f} ms/instruction"
    )


def measure(url: str, server: OwnPostgres, options: Options, logs: Path, results: Results) -> None:
    token = prepare_database(url)
    stack = bench_stack(
        url,
        logs,
        pool=options.pool,
        processes=options.processes,
        concurrency=options.concurrency,
        sim_profile=results.faults.profile() if results.faults else None,
    )
    with stopped_after(stack):
        start_stack(stack, options.processes)
        with open_watch(url) as watch:
            bench = Bench(stack, url, token, server, watch, options.poll, options.timeout)
            bench = replace(bench, faults=results.faults)
            results.warmup = run_once(bench)
            for i in range(options.repeat):
                results.runs.append(run_once(bench))
                print(progress(i + 1, results.runs[-1], results.faults), file=sys.stderr)
        results.rss_mib = peak_memory(stack)
        results.load_after = os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    wait_for_quiet(options.max_load)
    results = Results(load_before=os.getloadavg()[0])
    results.faults = FaultMix() if options.faults else None
    clear_broker()
    server = OwnPostgres()
    try:
        url = create_database(server.start())
        with log_dir(options.logs, "stopay-fanout-") as logs:
            measure(url, server, options, logs, results)
    finally:
        server.stop()
        clear_broker()
    config = render_config(results, config=options.config, command=options.command)
    write_subsection(options.out, config, heading=HEADING, intro=INTRO)
    print(config)
    print(f"Written to {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
