"""The race bench's arithmetic (bench/race_figures.py, bench/race_paths.py): interception
ratio, share of the loss, the per-level waits, and what counts as stopped in the ledger.

No timings are asserted: the trials here are made up, not measured.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from bench.race_figures import PathResult, Trial, level_waits, plot, render_table, rows
from bench.race_paths import CaseSpec, Loaded, path_result


def trial(seed: int, delay: int, ours: str, ideal: str, *, loss: str = "100000.00") -> Trial:
    return Trial(
        seed=seed,
        delay_min=delay,
        loss=Decimal(loss),
        reachable=Decimal(loss) / 2,
        ours=PathResult(Decimal(ours), 3, True, {1: [0.2, 0.4], 2: [0.1]}),
        ideal=PathResult(Decimal(ideal), 3, True),
    )


def test_the_ratio_is_ours_over_the_ideal_median_and_worst_of_the_seeds() -> None:
    trials = [
        trial(1, 0, "90000.00", "100000.00"),
        trial(2, 0, "50000.00", "50000.00"),
        trial(3, 0, "0.00", "40000.00"),
    ]
    [row] = rows(trials)
    assert row.ratio_median == 0.9
    assert row.ratio_worst == 0.0
    assert row.share_ours == 0.5  # the median of 0.9, 0.5 and 0.0 of the loss
    assert row.share_ideal == 0.5
    assert row.share_reachable == 0.5


def test_a_seed_where_the_ideal_stopped_nothing_has_no_ratio() -> None:
    trials = [trial(1, 30, "0.00", "0.00"), trial(2, 30, "1000.00", "2000.00")]
    [row] = rows(trials)
    assert trials[0].ratio is None
    assert (row.ratio_median, row.ratio_worst) == (0.5, 0.5)
    [row] = rows(trials[:1])
    assert row.ratio_worst is None
    assert "| 30 | 1 | — | — |" in render_table(trials[:1])


def test_rows_come_per_delay_in_order_and_say_whether_every_stop_was_applied_once() -> None:
    bad = Trial(
        1,
        5,
        Decimal(10),
        Decimal(5),
        PathResult(Decimal(1), 1, False),
        PathResult(Decimal(1), 1, True),
    )
    table = rows([trial(1, 15, "1.00", "1.00"), bad, trial(2, 0, "1.00", "1.00")])
    assert [r.delay_min for r in table] == [0, 5, 15]
    assert [r.once for r in table] == [True, False, True]


def test_waits_are_merged_per_level() -> None:
    waits = level_waits([trial(1, 0, "1.00", "1.00"), trial(2, 0, "1.00", "1.00")])
    assert waits[1] == (pytest.approx(0.3), 0.4, 4)
    assert waits[2] == (0.1, 0.1, 2)


def test_stopped_money_is_the_applied_stop_payments_and_each_key_counts_once() -> None:
    entries = [
        {
            "entry": "received",
            "idempotency_key": "a",
            "kind": "stop_payment",
            "amount_stopped": None,
        },
        {
            "entry": "applied",
            "idempotency_key": "a",
            "kind": "stop_payment",
            "amount_stopped": "700.00",
        },
        {
            "entry": "applied",
            "idempotency_key": "b",
            "kind": "stop_payment",
            "amount_stopped": "0.00",
        },
        {"entry": "applied", "idempotency_key": "r", "kind": "register", "amount_stopped": None},
    ]
    result = path_result(entries, {"a", "b"}, {})
    assert (result.stopped, result.stops, result.once) == (Decimal("700.00"), 2, True)
    assert not path_result([*entries, entries[1]], set(), {}).once  # applied twice
    assert not path_result(entries, {"a", "c"}, {}).once  # completed, never applied


def test_reachable_money_is_what_is_on_the_accounts_at_the_report() -> None:
    t0 = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)

    def at(seconds: int) -> str:
        return (t0 + dt.timedelta(seconds=seconds)).isoformat()

    def parcel(amount: str, arrives: int, departs: int) -> dict[str, str]:
        return {"amount": amount, "arrives_at": at(arrives), "departs_at": at(departs)}

    schedule = {
        "t0": t0.isoformat(),
        "loss": "300.00",
        "parcels": [
            parcel("100.00", -60, 200),
            parcel("200.00", 0, 400),
            parcel("50.00", 200, 500),
        ],
    }
    at_five_minutes = Loaded(CaseSpec(1, 300, {}), schedule, 0.0)
    assert at_five_minutes.reachable() == Decimal("250.00")
    assert Loaded(CaseSpec(1, 0, {}), schedule, 0.0).reachable() == Decimal("300.00")


def test_the_plot_is_written(tmp_path: Path) -> None:
    path = tmp_path / "race.png"
    plot([trial(1, 0, "1.00", "2.00"), trial(1, 5, "1.00", "1.00")], path, title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
