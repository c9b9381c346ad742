"""A browser test run again and again while the fan-out benchmark loads the machine.

Issue 17 asks that the deadlines panel's browser test (freeze from the panel while the live
stream re-renders it) pass 20 times in a row on a loaded machine: a live re-render between
typing the document number and the click once lost what the supervisor typed. This runs the
fan-out benchmark (`bench.fanout`, its own stack and database, restarted whenever it ends)
and, beside it, the test `--runs` times, one pytest after another; then writes how many passed,
in a row, with the machine's load, to BENCHMARKS.md.

    .venv/bin/python -m bench.loaded_test [--runs 20] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.support.api import stop_process
from bench.support.report import ROOT, git_commit, machine, write_section

HEADING = "## A browser test under load (bench/loaded_test.py)"
TEST = "tests/pages/test_dashboard.py::test_a_stop_payment_is_frozen_from_the_deadlines_panel"
FANOUT = ["-m", "bench.fanout", "--repeat", "50", "--processes", "2", "--concurrency", "100"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="times the test runs (default 20)")
    parser.add_argument("--test", default=TEST, help="the pytest node id to run")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument(
        "--logs", type=Path, default=Path("/tmp/loaded-test"), help="each run's pytest log"
    )
    a = parser.parse_args(argv)
    a.logs.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    loads: list[float] = []
    outcomes: list[str] = []
    fanout, fanouts = _fanout(a.logs), 1
    try:
        time.sleep(20)  # the benchmark's stack up and its first case under way
        for run in range(1, a.runs + 1):
            test = _pytest(a.test, a.logs / f"run-{run:02}.log")
            while test.poll() is None:
                loads.append(os.getloadavg()[0])
                if fanout.poll() is not None:
                    fanout, fanouts = _fanout(a.logs), fanouts + 1
                time.sleep(2)
            outcomes.append("passed" if test.returncode == 0 else "failed")
            print(f"run {run}: {outcomes[-1]}", flush=True)
    finally:
        _stop(fanout)
    write_section(a.out, _section(a, outcomes, loads, started, fanouts), heading=HEADING)
    print(f"{outcomes.count('passed')} of {a.runs} passed; written to {a.out}")
    return 0 if outcomes == ["passed"] * a.runs else 1


def _fanout(scratch: Path) -> subprocess.Popen[bytes]:
    out = scratch / f"fanout-{time.monotonic_ns()}.md"
    log = (scratch / "fanout.log").open("ab")
    return subprocess.Popen(
        [sys.executable, *FANOUT, "--out", str(out)], cwd=ROOT, stdout=log, stderr=log
    )


def _stop(fanout: subprocess.Popen[bytes]) -> None:
    """An interrupt, so the benchmark stops its stack and drops its database on the way out."""
    stop_process(fanout, sig=signal.SIGINT, timeout=120)


def _pytest(test: str, log: Path) -> subprocess.Popen[bytes]:
    """One run of the test in a pytest of its own (pytest runs a node id given twice once)."""
    argv = [sys.executable, "-m", "pytest", "-W", "error", "-v", "-p", "no:cacheprovider", test]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _section(
    a: argparse.Namespace, outcomes: list[str], loads: list[float], started: str, fanouts: int
) -> str:
    passed = outcomes.count("passed")
    streak = next((i for i, o in enumerate(outcomes) if o != "passed"), len(outcomes))
    load = (
        f"1-minute load average {min(loads):.2f}-{max(loads):.2f} while the test ran"
        if loads
        else "no load sampled"
    )
    return (
        f"{HEADING}\n\n"
        "The deadlines panel's browser test (a freeze typed into the live panel and sent) run\n"
        "again and again, one pytest after another, while the fan-out benchmark (a 157-account\n"
        "case at a time, its own stack) loads the machine beside it.\n\n"
        f"- command: `.venv/bin/python -m bench.loaded_test --runs {a.runs}`\n"
        f"- test: `{a.test}`\n"
        f"- load beside it: `python {' '.join(FANOUT)}` ({fanouts} run(s) of it)\n"
        f"- date (UTC): {started}\n"
        f"- machine: {machine()}; {load}\n"
        f"- commit: {git_commit()}\n\n"
        f"**{passed} of {a.runs} passed, {streak} in a row from the first**"
        + ("" if passed == a.runs else f" (each run in order: {', '.join(outcomes)})")
        + ".\n"
    )


if __name__ == "__main__":
    sys.exit(main())
