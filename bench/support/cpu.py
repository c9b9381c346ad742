"""CPU time and peak memory, read from /proc: per process group of the stack, for the
bench's own PostgreSQL server (bench/support/pgserver.py), this process and the rest of the
machine.

The database's CPU is the bench's own server's: its client backends of the bench database
(`postgres`, the ones that exited included, read from the postmaster's `cutime`) and its other
processes (`postgres_other`: the postmaster, checkpointer, WAL writer, ...). A connection the
bench itself holds open (its poll) is named by its backend's pid and counted as `bench`.
`Sampler` adds each stack process's ticks as they grow, read every second, so a process that
exits loses at most its last second; it reads the broker's queue depth at the same time.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Collection, Iterator
from pathlib import Path

import redis
from sqlalchemy.engine import make_url

from bench.support.pgserver import OwnPostgres
from bench.support.stack import Stack

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
CPU_ROWS = (
    "worker",
    "api",
    "simulator",
    "beat",
    "postgres",
    "postgres_other",
    "bench",
    "rest",
)
SAMPLE_S = 1.0
# Redis: one list per priority step (workers/celery_app.py: priority_steps 0-9, sep ":").
PRIORITY_STEPS = range(10)


def processes() -> Iterator[tuple[int, int, int]]:
    """(pid, process group, CPU ticks used: user + system) of every process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            yield int(entry.name), int(fields[2]), int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the most resident memory the process has had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def group_rss_mib(pgrp: int) -> tuple[float, int]:
    """Summed VmHWM (MiB) of the processes in a process group, and how many there are."""
    pids = [pid for pid, group, _ in processes() if group == pgrp]
    return sum(peak_rss_kib(pid) for pid in pids) / 1024, len(pids)


def peak_memory(
    stack: Stack, names: tuple[str, ...] = ("api", "worker", "simulator")
) -> dict[str, str]:
    """Peak RSS (summed VmHWM) of each named process group, e.g. "316 MiB (3 processes)"."""
    figures = {}
    for name in names:
        mib, count = group_rss_mib(stack.processes[name].pid)
        figures[name] = f"{mib:.0f} MiB" + (f" ({count} processes)" if count > 1 else "")
    return figures


def backends(database: str) -> set[int]:
    """The PostgreSQL server processes serving `database` (their title names it): for a bench
    on the shared server, which other clients use too (bench/dashboard.py)."""
    pids = set()
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = entry.read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") and f" {database} ".encode() in title:
            pids.add(int(entry.parent.name))
    return pids


def busy_ticks() -> int:
    """The machine's busy time so far: every CPU's ticks but idle and iowait."""
    times = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(times[:8]) - times[3] - times[4]


def add_server(
    used: dict[str, float], server: OwnPostgres, database: str, exclude: Collection[int]
) -> None:
    """Add the bench's own server's CPU seconds to `used` (postgres, postgres_other, bench)."""
    ticks = server.cpu_ticks(database, exclude)
    used["postgres"] += ticks.backends / TICKS_PER_S
    used["postgres_other"] += ticks.other / TICKS_PER_S
    used["bench"] += ticks.excluded / TICKS_PER_S


def cpu_seconds(
    stack: Stack, server: OwnPostgres, exclude: Collection[int] = ()
) -> dict[str, float]:
    """CPU seconds so far: each of our process groups, this process (and its connections
    `exclude`), the bench's database server, and `rest`: the machine's busy time not spent by
    those (Redis, the shared PostgreSQL, and whatever else runs here)."""
    groups = {p.pid: name for name, p in stack.processes.items()}
    used = dict.fromkeys(CPU_ROWS, 0.0)
    for pid, group, ticks in processes():
        name = "bench" if pid == os.getpid() else groups.get(group)
        if name is not None:
            used[name] += ticks / TICKS_PER_S
    add_server(used, server, str(make_url(stack.env["DATABASE_URL"]).database), exclude)
    used["rest"] = busy_ticks() / TICKS_PER_S - sum(used.values())
    used["wall"] = time.monotonic()
    return used


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


class Sampler:
    """From a thread of its own, every SAMPLE_S: the messages waiting in the queue and those
    taken by a worker and not yet acknowledged, and the CPU used by each of our process
    groups (`groups`: process group id -> name), this process and its connections `exclude`
    (`bench`), the bench's server (`postgres`: the backends of `database`; `postgres_other`)
    and everything else (`rest`)."""

    def __init__(
        self,
        broker_url: str,
        queue: str,
        groups: dict[int, str],
        server: tuple[OwnPostgres, str],
    ):
        self._client = redis.Redis.from_url(broker_url)
        self._keys = [queue] + [f"{queue}:{step}" for step in PRIORITY_STEPS if step]
        self._groups = groups
        self._server, self._database = server
        self.exclude: set[int] = set()  # backend pids of the bench's own open connections
        self._lock = threading.Lock()
        self._last: dict[int, int] = {}  # pid -> ticks when last read
        self._used: dict[str, int] = defaultdict(int)  # name -> ticks counted so far
        self._busy_start = busy_ticks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.queue: list[tuple[float, int, int]] = []  # (when, waiting, unacknowledged)

    def start(self) -> None:
        self.cpu_now()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.cpu_now()
            pipe = self._client.pipeline(transaction=False)
            for key in self._keys:
                pipe.llen(key)
            pipe.hlen("unacked")
            *waiting, unacked = pipe.execute()
            self.queue.append((time.time(), sum(waiting), unacked))

    def _name(self, pid: int, group: int) -> str | None:
        if pid == os.getpid():
            return "bench"
        return self._groups.get(group)

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds used so far by each name of CPU_ROWS, and `wall` (monotonic seconds)."""
        with self._lock:
            seen: dict[int, int] = {}
            for pid, group, ticks in processes():
                name = self._name(pid, group)
                if name is not None:
                    self._used[name] += ticks - self._last.get(pid, 0)
                    seen[pid] = ticks
            self._last = seen
            used = {name: self._used[name] / TICKS_PER_S for name in CPU_ROWS if name != "rest"}
            add_server(used, self._server, self._database, self.exclude)
            busy = (busy_ticks() - self._busy_start) / TICKS_PER_S
            # What the first read found (ours since they started) is not in `busy`: only
            # differences between two reads mean anything.
            used["rest"] = busy - sum(used.values())
            used["wall"] = time.monotonic()
            return used

    def queue_peaks(self, start: float, end: float) -> tuple[int, int]:
        """The most messages waiting, and unacknowledged, sampled between `start` and `end`."""
        inside = [(w, u) for t, w, u in self.queue if start <= t <= end] or [(0, 0)]
        return max(w for w, _ in inside), max(u for _, u in inside)
