"""Race benchmark: how much of a victim's money we stop while mule accounts keep moving it.

The simulator plays live money (docs/institution-protocol.md, section 5) drawn from a seed: a
victim's 3-10 transfers, 3-4 levels of mule accounts, each sum leaving after a lognormal dwell
(median 120 s, sigma 1.0) split over 1-3 next accounts, the deepest level and one cash-out
branch cashing out. The case is reported D minutes after the last transfer, for each D of
`--delays`: the schedule is loaded with t0 = now - D, then

1. **ours**: the case (the victim's transfers) is POSTed to our API and the full stack (API,
   workers, beat, simulator) stops and follows the money until the case is quiet (no open
   instruction, no stop created for 3 s);
2. **ideal**: the simulator is reset and the same schedule loaded afresh (t0 = now - D again),
   and a client in this process sends every level-1 stop at once and each next-level stop the
   instant the callback revealing it arrives (bench/race_ideal.py).

Money stopped is read from the simulator's ledger (every stop applied exactly once is checked
for both). Per D: the interception ratio ours / ideal (median and worst of the seeds) and the
share of the loss each stopped, written to BENCHMARKS.md with a plot (docs/race*.png). Where
our time goes: per level, POST -> level-1 stop sent, callback -> next-level stop sent.

`--degraded`: the institution the victim paid most hangs for 60 s from the report, then
recovers. `--rush`: 20 cases reported within one minute (each its own seed), figures summed
per rush.

    .venv/bin/python -m bench.race [--seeds 5] [--delays 0,5,15,30] [--degraded | --rush]
        [--max-load 1] [--out BENCHMARKS.md] [--plot docs/race.png]
    .venv/bin/python -m bench.race --seeds 1 --delays 0 --out /tmp/race.md   # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.race_figures import HEADING, INTRO, PathResult, Trial, plot, render_variant
from bench.race_ideal import IdealCase, Rules, account_key, run_ideal
from bench.race_paths import (
    CaseSpec,
    Loaded,
    ours_result,
    path_result,
    richest_institution,
    run_ours,
)
from bench.support.db import create_database, drop_database, prepare_database
from bench.support.report import wait_for_quiet, write_subsection
from bench.support.simulator import ledger, reset_simulator
from bench.support.stack import Stack, bench_stack, clear_broker, start_stack, stopped_after

MAX_DEPTH = 4  # our service follows the money down to level 4 here (default 3)
MIN_AMOUNT = Decimal("1000.00")  # and from 1,000 CNY traced into an account (the default)
RUSH_CASES = 20
RUSH_WINDOW_S = 60.0


@dataclass(frozen=True)
class Options:
    seeds: int
    first_seed: int
    delays: list[int]
    degraded: bool
    rush: bool
    processes: int
    concurrency: int
    timeout: float
    max_load: float | None
    out: Path
    plot: Path

    @property
    def variant(self) -> str:
        return "degraded" if self.degraded else "rush" if self.rush else "plain"

    @property
    def title(self) -> str:
        return {
            "plain": "One case at a time",
            "degraded": "One institution hanging for 60 s",
            "rush": f"Rush: {RUSH_CASES} cases reported within one minute",
        }[self.variant]

    @property
    def command(self) -> str:
        flags = {"plain": "", "degraded": " --degraded", "rush": " --rush"}[self.variant]
        quiet = "" if self.max_load is None else f" --max-load {self.max_load:g}"
        delays = ",".join(str(d) for d in self.delays)
        return (
            f".venv/bin/python -m bench.race --seeds {self.seeds} --delays {delays}{flags}"
            f"{quiet} --out {self.out} --plot {self.plot}"
        )


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=5, help="seeds (rushes with --rush)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--delays", default="0,5,15,30", help="reporting delays, minutes")
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument("--degraded", action="store_true", help="one institution hangs 60 s")
    variant.add_argument("--rush", action="store_true", help="20 cases within one minute")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=100, help="threads per process")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per path")
    parser.add_argument("--max-load", type=float, default=None)
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--plot", type=Path, default=None, help="default docs/race[-VARIANT].png")
    a = parser.parse_args(argv)
    delays = [int(d) for d in a.delays.split(",") if d.strip()]
    if a.seeds < 1 or not delays or min(delays) < 0:
        parser.error("--seeds must be at least 1 and --delays non-negative minutes")
    suffix = "-degraded" if a.degraded else "-rush" if a.rush else ""
    plot_path = a.plot or Path(f"docs/race{suffix}.png")
    return Options(
        seeds=a.seeds,
        first_seed=a.first_seed,
        delays=delays,
        degraded=a.degraded,
        rush=a.rush,
        processes=a.processes,
        concurrency=a.concurrency,
        timeout=a.timeout,
        max_load=a.max_load,
        out=a.out,
        plot=plot_path,
    )


def specs_for(options: Options, seed: int, delay_min: int) -> list[CaseSpec]:
    """The cases of one trial. Each delay moves the same money through other account numbers
    (`numbers_salt`): our service links an account another case already stops instead of
    stopping it again, so reporting the same accounts twice would measure that instead."""
    parameters = {"numbers_salt": f"D{delay_min}"}
    if options.rush:
        first = seed * 1000
        return [CaseSpec(first + i, delay_min * 60.0, parameters) for i in range(RUSH_CASES)]
    return [CaseSpec(seed, delay_min * 60.0, parameters)]


def run_trial(
    stack: Stack, url: str, token: str, options: Options, seed: int, delay_min: int
) -> Trial:
    """Ours, then the ideal on the same cases; the trial's figures summed over its cases."""
    specs = specs_for(options, seed, delay_min)
    spacing = RUSH_WINDOW_S / RUSH_CASES if options.rush else 0.0
    loaded, case_nos = run_ours(
        stack,
        url,
        token,
        specs,
        spacing_s=spacing,
        degraded=options.degraded,
        timeout=options.timeout,
    )
    ours, cases = [], []
    for item, case_no in zip(loaded, case_nos, strict=True):
        result, sent = ours_result(stack, url, case_no, item.started)
        ours.append(result)
        by_account = {account_key(s.institution, s.account_no): s for s in sent}
        cases.append(IdealCase(case_no, item.spec, by_account))
    reset_simulator(stack)
    degraded_at = richest_institution(loaded[0].schedule) if options.degraded else None
    ideal_loaded = asyncio.run(
        run_ideal(
            stack.simulator_url,
            cases,
            rules=Rules(MAX_DEPTH, MIN_AMOUNT),
            spacing_s=spacing,
            degraded_at=degraded_at,
            timeout=options.timeout,
        )
    )
    ideal = [path_result(ledger(stack, c.case_no), set(), {}) for c in cases]
    if not _same_money(loaded, ideal_loaded):
        raise RuntimeError("the ideal run drew other live money than ours")
    return Trial(
        seed=seed,
        delay_min=delay_min,
        loss=sum((x.loss for x in loaded), Decimal("0.00")),
        reachable=sum((x.reachable() for x in loaded), Decimal("0.00")),
        ours=_sum(ours),
        ideal=_sum(ideal),
    )


def _same_money(loaded: list[Loaded], ideal: list[tuple[dict[str, object], float]]) -> bool:
    """The same accounts and sums (t0, and so every time, moved by the later start)."""
    pairs = zip(loaded, ideal, strict=True)
    return all(a.schedule["accounts"] == b["accounts"] for a, (b, _) in pairs)


def _sum(results: list[PathResult]) -> PathResult:
    waits: dict[int, list[float]] = {}
    for r in results:
        for level, values in r.waits.items():
            waits.setdefault(level, []).extend(values)
    return PathResult(
        stopped=sum((r.stopped for r in results), Decimal("0.00")),
        stops=sum(r.stops for r in results),
        once=all(r.once for r in results),
        waits=waits,
    )


def measure(url: str, options: Options, logs: Path) -> list[Trial]:
    token = prepare_database(url)
    settings = {"STOPAY_TRACE_MAX_DEPTH": str(MAX_DEPTH)}
    stack = bench_stack(
        url,
        logs,
        pool="threads",
        processes=options.processes,
        concurrency=options.concurrency,
        settings=settings,
    )
    trials = []
    with stopped_after(stack):
        start_stack(stack, options.processes)
        for delay in options.delays:
            for seed in range(options.first_seed, options.first_seed + options.seeds):
                began = time.monotonic()
                trial = run_trial(stack, url, token, options, seed, delay)
                trials.append(trial)
                print(
                    f"D={delay} min seed {seed}: ours {trial.ours.stopped} "
                    f"({trial.ours.stops} stops), ideal {trial.ideal.stopped} "
                    f"({trial.ideal.stops} stops) of {trial.loss}; ratio {trial.ratio}; "
                    f"{time.monotonic() - began:.0f} s",
                    file=sys.stderr,
                )
        return trials


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    wait_for_quiet(options.max_load)
    load_before = os.getloadavg()[0]
    clear_broker()
    url = create_database()
    try:
        with tempfile.TemporaryDirectory(prefix="stopay-race-") as logs:
            trials = measure(url, options, Path(logs))
    finally:
        drop_database(url)
        clear_broker()
    load = (load_before, os.getloadavg()[0])
    plot(trials, options.plot, title=options.title)
    section = render_variant(options.title, trials, command=options.command, load=load)
    section += f"\nThe plot: `{options.plot}` (shown on the documentation's Benchmarks page).\n"
    write_subsection(options.out, section, heading=HEADING, intro=INTRO)
    print(section)
    print(f"Written to {options.out} and {options.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
