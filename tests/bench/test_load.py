"""The sustained-load bench's pure parts (bench/load.py, bench/load_figures.py): percentiles,
when a step is held, the report's tables.

No timings are asserted: the steps here are made up, not measured.
"""

from __future__ import annotations

import argparse
import math

import pytest

from bench.load import parse_args, parse_rates
from bench.load_figures import (
    STACK,
    Posted,
    Results,
    Step,
    cpu_table,
    headline,
    highest_held,
    instruction_cpu_table,
    load_table,
    memory_table,
    per_instruction_ms,
    render_config,
    stop_reason,
)
from bench.support.report import percentile


def make_step(
    rate: float,
    *,
    delays_s: list[float] | None = None,
    statuses: list[int] | None = None,
    duration_s: float = 10.0,
) -> Step:
    """A step of `rate` cases/s for `duration_s` s, six instructions a case."""
    count = round(rate * duration_s)
    statuses = statuses if statuses is not None else [201] * count
    posted = [
        Posted(status, 20.0 + i, 0.0, 1000.0 + i, f"C{i}" if status == 201 else None)
        for i, status in enumerate(statuses)
    ]
    delays = delays_s if delays_s is not None else [0.3] * (6 * count)
    cpu = {"api": 4.0, "worker": 3.0, "postgres": 1.0, "rest": 2.0, "wall": duration_s}
    rss = {"api": "131 MiB", "worker": "371 MiB (3 processes)"}
    return Step(rate, duration_s, posted, delays, cpu=cpu, db_xacts=1500, rss=rss)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert [percentile(values, p) for p in (1, 50, 95, 99, 100)] == [1, 50, 95, 99, 100]
    assert percentile([7.0], 99) == 7.0
    assert percentile([0.2] * 99 + [math.inf], 99) == 0.2
    assert percentile([0.2] * 98 + [math.inf] * 2, 99) == math.inf


def test_a_step_under_the_limit_is_held() -> None:
    assert stop_reason(make_step(4, delays_s=[0.2] * 235 + [0.9] * 5)) is None


def test_a_p99_dispatch_delay_over_one_second_stops_the_run() -> None:
    reason = stop_reason(make_step(8, delays_s=[0.3] * 470 + [1.5] * 10))
    assert reason == "p99 dispatch delay 1.50 s"


def test_intake_errors_and_unacked_instructions_stop_the_run() -> None:
    reason = stop_reason(
        make_step(2, statuses=[201] * 19 + [503], delays_s=[0.3] * 113 + [math.inf])
    )
    assert reason is not None
    assert "1 of 20 requests not answered 201" in reason
    assert "1 instructions not acked" in reason


def test_a_rate_not_reached_is_not_held() -> None:
    step = make_step(10)
    step.duration_s = 12.0  # 100 cases answered over 12 s: 8.3 cases/s of the 10 asked for
    assert stop_reason(step) == "achieved 8.3 cases/s"


def test_highest_rate_held_is_the_step_before_the_first_failure() -> None:
    held = [make_step(rate) for rate in (2, 4, 8)]
    failed = make_step(12, delays_s=[2.0] * 720)
    assert highest_held([*held, failed]) is held[-1]
    assert highest_held([failed]) is None
    assert highest_held(held) is held[-1]


def test_rates_must_rise() -> None:
    assert parse_rates("2,4,8.5") == (2.0, 4.0, 8.5)
    for text in ("4,2", "0,2", "2,2", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_rates(text)


def test_tables_show_each_step_and_the_headline_the_rate_held() -> None:
    steps = [make_step(2), make_step(4), make_step(8, delays_s=[3.0] * 480)]
    table = load_table(steps).splitlines()
    assert len(table) == 2 + 3
    assert table[2].startswith("| 2 | 20 / 20 | 2.0 (12) | ")
    assert table[2].endswith("| yes |")
    assert table[4].endswith("| no: p99 dispatch delay 3.00 s |")
    assert headline(steps).startswith("**Highest rate held: 4 cases/s (24 instructions/s)**")
    assert "stopped at 8 cases/s: p99 dispatch delay 3.00 s" in headline(steps)
    # CPU in cores: CPU seconds over the step's wall-clock seconds.
    assert (
        "| 2 | 0.40 | 0.30 | 0.00 | 0.00 | 0.10 | 0.00 | 0.00 | 0.20 | 1.00 | 150 |"
    ) in cpu_table(steps)
    assert "| 2 | 131 MiB | 371 MiB (3 processes) |  |  |" in memory_table(steps)


def test_unacked_instructions_are_named_not_numbered() -> None:
    step = make_step(2, delays_s=[math.inf] * 120)
    assert "not acked / not acked / not acked" in load_table([step])
    assert headline([step]).startswith("**Highest rate held: none**")


def test_stack_cpu_per_instruction_counts_sending_and_draining() -> None:
    step = make_step(2)  # 20 cases, 120 instructions
    step.cpu_drained = {"api": 0.6, "worker": 0.3, "beat": 0.06, "postgres": 0.24, "simulator": 0.3}
    assert per_instruction_ms(step, STACK) == pytest.approx(10.0)
    row = instruction_cpu_table([step]).splitlines()[2]
    assert row == "| 2 | **10.0 ms** | 5.0 | 2.5 | 0.5 | 2.0 | 2.5 |"


def test_api_processes_name_the_sub_section_so_runs_at_one_and_two_sit_side_by_side() -> None:
    one = parse_args(["--step-s", "20", "--out", "/tmp/x.md"])
    two = parse_args(["--api-workers", "2", "--step-s", "20", "--out", "/tmp/x.md"])
    assert (one.api_workers, two.api_workers) == (1, 2)
    assert one.config == "1 API process, 1 worker process"
    assert two.config == "2 API processes, 1 worker process"
    assert parse_args(["--api-workers", "2", "--workers", "2"]).config == (
        "2 API processes, 2 worker processes"
    )
    # The command written down runs the same configuration again.
    assert two.command.startswith(".venv/bin/python -m bench.load --api-workers 2 --workers 1 ")
    assert parse_args(two.command.split()[3:]) == two


def test_the_report_heads_its_sub_section_with_the_api_processes() -> None:
    options = parse_args(["--api-workers", "2", "--out", "/tmp/x.md"])
    text = render_config(Results(load_before=0.5, steps=[make_step(2)]), options)
    assert text.startswith("### 2 API processes, 1 worker process\n")
    assert "- stack: API (2 uvicorn processes under uvicorn's supervisor" in text
    single = render_config(Results(load_before=0.5), parse_args(["--out", "/tmp/x.md"]))
    assert "- stack: API (1 uvicorn process), worker" in single


def test_api_workers_must_be_at_least_one() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--api-workers", "0"])
