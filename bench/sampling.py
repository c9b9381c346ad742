"""What the sustained-load benchmark reads every second: broker queue depth and CPU time.

CPU is counted process by process: bench/fanout.py's `cpu_seconds` sums what the processes
alive at two moments have used, which is right over a few seconds, but over a minute of load
PostgreSQL backends come and go (the connection pools' overflow connections are closed when
returned), and a backend that exited took its CPU time with it: the difference can even turn
negative. Here each process's ticks are added as they grow, read every second, so a process
that exits loses at most its last second.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path

import redis

from bench.fanout import CPU_ROWS, TICKS_PER_S, processes

SAMPLE_S = 1.0
# Redis: one list per priority step (workers/celery_app.py: priority_steps 0-9, sep ":").
PRIORITY_STEPS = range(10)


def busy_ticks() -> int:
    """The machine's busy time so far: every CPU's ticks but idle and iowait."""
    times = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(times[:8]) - times[3] - times[4]


class Sampler:
    """From a thread of its own, every SAMPLE_S: the messages waiting in the queue and those
    taken by a worker and not yet acknowledged, and the CPU used by each of our process
    groups (`groups`: process group id -> name), this process (`bench`), the backends of
    `database` (`postgres`) and everything else (`rest`)."""

    def __init__(self, broker_url: str, queue: str, groups: dict[int, str], database: str):
        self._client = redis.Redis.from_url(broker_url)
        self._keys = [queue] + [f"{queue}:{step}" for step in PRIORITY_STEPS if step]
        self._groups = groups
        self._database = database
        self._lock = threading.Lock()
        self._last: dict[int, int] = {}  # pid -> ticks when last read
        self._others: set[int] = set()  # pids that are none of ours (and no backend)
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
        if group in self._groups:
            return self._groups[group]
        if pid in self._others:
            return None
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        if title.startswith(b"postgres:") and f" {self._database} ".encode() in title:
            return "postgres"
        # A backend's title names its database only once it has logged in: read it again.
        if not title.startswith(b"postgres"):
            self._others.add(pid)
        return None

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
