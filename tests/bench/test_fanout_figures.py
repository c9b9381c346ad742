"""The fan-out bench's CPU and fault-mix figures (bench/fanout_figures.py,
bench/fanout_faults.py): stack CPU per instruction beside the bare client's, and the healthy
institutions' completion under the fault mix.

No timings are asserted: the runs here are made up, not measured.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bench.fanout_bare import BarePath, Sent
from bench.fanout_faults import FaultMix, fault_figures, fault_verdict
from bench.fanout_figures import cpu_figures, cpu_table
from bench.fanout_paths import OurPath, Run

T0 = 1_800_000_000.0  # the 201 of our path, and the bare client's first send
ZERO = dict.fromkeys(
    ("worker", "api", "simulator", "beat", "postgres", "postgres_other", "bench", "rest", "wall"),
    0.0,
)


def at(seconds: float) -> str:
    return dt.datetime.fromtimestamp(T0 + seconds, dt.UTC).isoformat()


def make_run(
    done_s: dict[str, float],
    bare_s: dict[str, float],
    *,
    cpu_ours: dict[str, float] | None = None,
    cpu_bare: dict[str, float] | None = None,
) -> Run:
    """One instruction per institution code: ours completed `done_s[code]` after the 201, the
    bare client's callback `bare_s[code]` after its first send (absent: never)."""
    sent = [Sent(n, f"key-{code}", code, {}, 1, 100, 1000) for n, code in enumerate(sorted(done_s))]
    instructions = [
        {
            "id": s.instruction_id,
            "completed_at": None if done_s[s.institution] is None else at(done_s[s.institution]),
        }
        for s in sent
    ]
    taken = [s for s in sent if s.institution in bare_s]
    ledger = [{"entry": "applied", "idempotency_key": s.key} for s in taken]
    ours = OurPath("C-1", T0, 50.0, instructions, {}, ledger)
    callbacks = {s.key: T0 + bare_s[s.institution] for s in taken}
    bare = BarePath(T0, {}, callbacks, ledger)
    return Run(ours, bare, sent, {**ZERO, **(cpu_ours or {})}, {**ZERO, **(cpu_bare or {})})


def test_stack_cpu_per_instruction_sums_api_worker_beat_and_postgres_backends() -> None:
    # The figures at 47af5cc, for a case of 158 instructions.
    codes = {f"I{n:03d}": 1.0 for n in range(158)}
    ours = {"api": 1.25, "worker": 0.29, "postgres": 0.44, "beat": 0.03, "simulator": 0.52}
    bare = {"api": 0.01, "worker": 0.04, "postgres": 0.01, "beat": 0.04, "bench": 0.19}
    run = make_run(codes, codes, cpu_ours={**ours, "bench": 0.09}, cpu_bare=bare)
    figures = cpu_figures(run)
    assert figures["stack"] == pytest.approx(2.01 / 158 * 1000)  # 12.7 ms
    assert figures["stack_idle"] == pytest.approx(0.10 / 158 * 1000)
    assert figures["bare_client"] == pytest.approx(0.19 / 158 * 1000)
    # The simulator and the bench's own poll are not the stack's.
    assert figures["simulator"] == pytest.approx(0.52 / 158 * 1000)
    table = cpu_table([run])
    assert "| **stack**: API + worker + beat + PostgreSQL backends | **12.7 ms** (API 7.9 ms" in (
        table
    )
    assert "| **1.2 ms** |" in table


def test_under_the_fault_mix_only_the_healthy_institutions_count() -> None:
    mix = FaultMix()
    done = {"ICBC": 3.0, "CCB": 3.3, "NFPP": 1.0, mix.limited: 9.0, mix.hanging: None}
    bare = {"ICBC": 2.8, "CCB": 3.0, "NFPP": 0.9, mix.limited: 7.5}
    figures = fault_figures(make_run(done, bare), mix)  # type: ignore[arg-type]
    assert figures["healthy"] == 3
    assert figures["done"] == pytest.approx(3.3)
    assert figures["bare_done"] == pytest.approx(3.0)
    assert figures["ratio"] == pytest.approx(1.1)
    assert figures["limited_done"] == pytest.approx(9.0)
    assert figures["bare_limited_done"] == pytest.approx(7.5)
    assert figures["once"] == 1.0
    verdict = fault_verdict([figures], mix)
    assert "the 3 instructions at the healthy institutions" in verdict
    assert "**PASS** (1.10x)" in verdict


def test_a_healthy_institution_late_misses_the_target() -> None:
    mix = FaultMix()
    done = {"ICBC": 4.0, mix.limited: 9.0, mix.hanging: None}
    bare = {"ICBC": 3.0, mix.limited: 7.5}
    figures = fault_figures(make_run(done, bare), mix)  # type: ignore[arg-type]
    assert "**MISS** (1.33x)" in fault_verdict([figures], mix)


def test_the_fault_profile_hangs_one_institution_and_rate_limits_another() -> None:
    mix = FaultMix()
    institutions = mix.profile()["institutions"]
    assert institutions[mix.hanging]["timeout_rate"] == 1.0
    assert institutions[mix.limited] == {"rate_limit_per_s": 2.0}
