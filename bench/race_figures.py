"""The race benchmark's figures: interception ratio and share of the loss stopped per reporting
delay, where the time of our path goes per level, the BENCHMARKS.md section and the plot."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from bench.support.report import git_commit, machine

HEADING = "## Race against moving money (bench/race.py)"
INTRO = (
    "How much of a victim's money is stopped while mule accounts keep moving it (issue 20).\n"
    "The simulator plays live money (docs/institution-protocol.md, section 5): 3-10 victim\n"
    "transfers, 3-4 levels, each sum leaving after a lognormal dwell (median 120 s, sigma 1.0),\n"
    "split over 1-3 next accounts; the deepest level and one cash-out branch cash out. The case\n"
    "is reported D minutes after the last transfer (the schedule loaded with t0 = now - D).\n"
    "**Ours**: the full stack from the POST until the case is quiet. **Ideal**: a client in the\n"
    "bench that sends every level-1 stop at the instant of its start and each next-level stop\n"
    "the instant the callback revealing it arrives, straight to the simulator (same seed, same\n"
    "idempotency keys where ours reached the same account, so the same simulated delays; same\n"
    "depth and minimum-amount rules). Stopped = the simulator's ledger (`applied` stops).\n"
    "Interception ratio = stopped by ours / stopped by the ideal, per seed; share = stopped /\n"
    "the victim's loss (挽损比); reachable = what was still on the mule accounts at the report\n"
    "with nobody stopping anything. Targets: ratio >= 0.97 worst of 5 seeds at every D,\n"
    ">= 0.93 with one institution degraded, >= 0.95 in the 20-case rush.\n"
)


@dataclass(frozen=True)
class PathResult:
    """What one path stopped in one trial, and whether every stop was applied once."""

    stopped: Decimal
    stops: int
    once: bool
    # Ours only: seconds per level, from the POST (level 1) or from the callback that
    # revealed the account (level 2+) to the stop's first send.
    waits: dict[int, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Trial:
    """One seed (or one rush of cases) at one reporting delay: both paths."""

    seed: int
    delay_min: int
    loss: Decimal
    reachable: Decimal
    ours: PathResult
    ideal: PathResult

    @property
    def ratio(self) -> float | None:
        """Ours / ideal; None when the ideal stopped nothing (nothing was left to race for)."""
        if self.ideal.stopped <= 0:
            return None
        return float(self.ours.stopped / self.ideal.stopped)


@dataclass(frozen=True)
class Row:
    delay_min: int
    seeds: int
    ratio_median: float | None
    ratio_worst: float | None
    share_ours: float
    share_ideal: float
    share_reachable: float
    once: bool


def share(part: Decimal, whole: Decimal) -> float:
    return float(part / whole) if whole > 0 else 0.0


def rows(trials: Sequence[Trial]) -> list[Row]:
    """One row per reporting delay: ratio median and worst over the seeds with a race (the
    ideal stopped something), and the median share of the loss stopped by each path."""
    out = []
    for delay in sorted({t.delay_min for t in trials}):
        group = [t for t in trials if t.delay_min == delay]
        ratios = [r for r in (t.ratio for t in group) if r is not None]
        out.append(
            Row(
                delay_min=delay,
                seeds=len(group),
                ratio_median=statistics.median(ratios) if ratios else None,
                ratio_worst=min(ratios) if ratios else None,
                share_ours=statistics.median(share(t.ours.stopped, t.loss) for t in group),
                share_ideal=statistics.median(share(t.ideal.stopped, t.loss) for t in group),
                share_reachable=statistics.median(share(t.reachable, t.loss) for t in group),
                once=all(t.ours.once and t.ideal.once for t in group),
            )
        )
    return out


def level_waits(trials: Sequence[Trial]) -> dict[int, tuple[float, float, int]]:
    """Per level of ours: (median, max, count) of the wait before the stop was sent."""
    merged: dict[int, list[float]] = {}
    for trial in trials:
        for level, waits in trial.ours.waits.items():
            merged.setdefault(level, []).extend(waits)
    return {
        level: (statistics.median(w), max(w), len(w)) for level, w in sorted(merged.items()) if w
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render_table(trials: Sequence[Trial]) -> str:
    lines = [
        "| D (min) | seeds | ratio median | ratio worst | share ours | share ideal "
        "| reachable at report | applied once |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows(trials):
        lines.append(
            f"| {r.delay_min} | {r.seeds} | {_pct(r.ratio_median)} | {_pct(r.ratio_worst)} "
            f"| {r.share_ours:.1%} | {r.share_ideal:.1%} | {r.share_reachable:.1%} "
            f"| {'yes' if r.once else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def render_waits(trials: Sequence[Trial]) -> str:
    waits = level_waits(trials)
    if not waits:
        return ""
    lines = [
        "Where our time goes before each stop is sent (the ideal waits 0 s at every level):\n",
        "| level | from | median (s) | max (s) | stops |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for level, (median, worst, count) in waits.items():
        origin = "POST" if level == 1 else "callback revealing it"
        lines.append(f"| {level} | {origin} | {median:.2f} | {worst:.2f} | {count} |")
    return "\n".join(lines) + "\n"


def render_variant(
    title: str, trials: Sequence[Trial], *, command: str, load: tuple[float, float]
) -> str:
    """One `### ` sub-section: command, commit, date, machine, load, the tables."""
    from datetime import UTC, datetime

    body = [
        f"### {title}\n",
        f"- Command: `{command}`",
        f"- Commit: {git_commit()}",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}",
        "",
        render_table(trials),
        render_waits(trials),
    ]
    return "\n".join(body)


def plot(trials: Sequence[Trial], path: Path, *, title: str) -> None:
    """Share of the loss stopped against the reporting delay, ours and ideal (a PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = rows(trials)
    xs = [r.delay_min for r in table]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    ax.plot(xs, [100 * r.share_reachable for r in table], ":", color="grey", label="reachable")
    ax.plot(xs, [100 * r.share_ideal for r in table], "s--", label="ideal")
    ax.plot(xs, [100 * r.share_ours for r in table], "o-", label="ours")
    ax.set_xlabel("reporting delay after the last transfer (min)")
    ax.set_ylabel("share of the loss stopped (%, median of seeds)")
    ax.set_title(title)
    ax.set_ylim(0, 100)
    ax.set_xticks(xs)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
