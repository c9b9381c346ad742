"""The whole service as separate processes: API, worker, beat and the simulator.

The same `stopay` commands docker-compose and `stopay run` use, on a database and a Redis
database of the caller's own, each in its own process group so it can be stopped whole.
`running_stack` is the end-to-end tests' (tests/e2e/stack.py gives it their keys and
profile); `bench_stack` and `start_stack` the benchmarks', with the simulator's bench
profile and the worker pool they measure.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml
from kombu import Connection

from app.dispatch.publish import Lane, lane_queue

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = "redis://127.0.0.1:6379/11"  # the benchmarks' stack's own Redis database
SECRET_KEY = "bench-secret-key-not-the-default"
AUDIT_KEY = "bench-audit-key-not-in-the-database"
# The simulator's bench profile: every institution acks in 100-300 ms and calls back
# 500-3000 ms later, no injected faults, no rate limit, every stop ends `stopped_full`.
SIM_PROFILE: dict[str, Any] = {
    "seed": 20261122,
    "default": {
        "ack_ms": [100, 300],
        "processing_ms": [500, 3000],
        "timeout_rate": 0.0,
        "error_rate": 0.0,
        "rate_limit_per_s": None,
        "accounts": {
            "full": 1.0,
            "partial": 0.0,
            "moved": 0.0,
            "not_found": 0.0,
            "name_mismatch": 0.0,
        },
    },
    "callbacks": {"first_retry_s": 0.2, "max_retry_s": 1.0, "give_up_after_s": 600, "timeout_s": 5},
}
# Celery writes this straight to stdout when a worker is told to stop, not through logging.
CELERY_PLAIN = re.compile(r"^worker: (Warm|Cold) shutdown")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    api_url: str
    simulator_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "app.cli", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        self._stop([name], sig, timeout)

    def stop_all(self) -> None:
        """All at once: each shuts down in its own time, so the slowest sets the wait."""
        self._stop(list(self.processes), signal.SIGTERM, 20)

    def _stop(self, names: list[str], sig: int, timeout: float) -> None:
        stopping = [self.processes.pop(name) for name in names]
        for process in stopping:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        deadline = time.monotonic() + timeout
        for process in stopping:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        """A process's log so far, every line one JSON object (app/logs.py)."""
        lines = []
        for line in self.log(name).splitlines():
            if CELERY_PLAIN.match(line):
                continue
            try:
                lines.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"{name}.log: not a JSON line: {line!r}") from None
        return lines

    def simulator(self) -> httpx.Client:
        return httpx.Client(base_url=self.simulator_url, timeout=10)

    def api(self, headers: dict[str, str]) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=30, headers=headers)


def wait_for(
    check: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = ""
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def wait_http_ok(url: str, *, timeout: float = 60) -> None:
    wait_for(lambda: httpx.get(url, timeout=2).status_code == 200, timeout=timeout, what=url)


def drop_queue(broker_url: str, queue: str) -> None:
    """Delete what a stack left of its Celery queue on the broker."""
    if broker_url.startswith("redis"):
        client = redis.Redis.from_url(broker_url)
        for key in client.scan_iter(f"{queue}*"):
            client.delete(key)
        return
    with Connection(broker_url) as connection:
        # An AMQP channel: kombu types it as the abstract StdChannel, which has no queue_delete.
        channel: Any = connection.default_channel
        for lane in Lane:
            channel.queue_delete(lane_queue(queue, lane))


def clear_broker(broker_url: str = BROKER_URL) -> None:
    """Empty a Redis database of the benchmarks' own."""
    redis.Redis.from_url(broker_url).flushdb()


def make_stack(
    *,
    database_url: str,
    broker_url: str,
    logs: Path,
    profile: Path,
    secret_key: str,
    audit_key: str,
    settings: dict[str, str],
) -> Stack:
    """The stack's processes on ports of their own, not started yet; `settings` go on top."""
    api_port, sim_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STOPAY_")},
        "DATABASE_URL": database_url,
        "BROKER_URL": broker_url,
        "STOPAY_SECRET_KEY": secret_key,
        "STOPAY_AUDIT_KEY": audit_key,
        "STOPAY_DEMO": "false",
        "STOPAY_DATA_DIR": str(logs),
        "STOPAY_API_PORT": str(api_port),
        "STOPAY_SIMULATOR_PORT": str(sim_port),
        "STOPAY_SIMULATOR_PROFILE": str(profile),
        **settings,
    }
    return Stack(
        env=env,
        logs=logs,
        api_url=f"http://127.0.0.1:{api_port}",
        simulator_url=f"http://127.0.0.1:{sim_port}",
    )


@contextmanager
def running_stack(
    *,
    database_url: str,
    broker_url: str,
    queue: str,
    logs: Path,
    settings: dict[str, str],
    secret_key: str,
    audit_key: str,
    profile: Path,
    workers: Sequence[Sequence[str]] = ((),),
    services: Sequence[str] = ("simulator", "api", "beat"),
) -> Iterator[Stack]:
    """The API, a worker per item of `workers` (`worker`, `worker-2`, …, each started with
    those `stopay worker` options), beat and the simulator as separate processes on ports
    of their own, on this database and queue, with `settings` (STOPAY_…) on top; all
    stopped afterwards. `services` and `workers=()` start fewer (the API alone: `("api",)`)."""
    stack = make_stack(
        database_url=database_url,
        broker_url=broker_url,
        logs=logs,
        profile=profile,
        secret_key=secret_key,
        audit_key=audit_key,
        settings={"STOPAY_QUEUE": queue, **settings},
    )
    try:
        for name in services:
            stack.start(name, name)
        for n, options in enumerate(workers, start=1):
            name = "worker" if n == 1 else f"worker-{n}"
            stack.start(name, "worker", f"--name={name}", *options)
        if "simulator" in services:
            wait_http_ok(f"{stack.simulator_url}/healthz")
        wait_http_ok(f"{stack.api_url}/readyz")
        yield stack
    finally:
        stack.stop_all()
        drop_queue(broker_url, queue)


def bench_stack(
    url: str,
    logs: Path,
    *,
    pool: str,
    processes: int,
    concurrency: int,
    broker_url: str = BROKER_URL,
    settings: dict[str, str] | None = None,
    sim_profile: dict[str, Any] | None = None,
) -> Stack:
    """The benchmarks' stack, not started yet: the simulator with the bench profile (or
    `sim_profile`), the worker with this pool; `settings` (STOPAY_…) go on top."""
    profile = logs / "bench-profile.yaml"
    profile.write_text(yaml.safe_dump(sim_profile or SIM_PROFILE, sort_keys=False))
    worker = {
        "PYTHONPATH": str(ROOT),
        "STOPAY_WORKER_POOL": pool,
        "STOPAY_WORKER_PROCESSES": str(processes),
        "STOPAY_WORKER_CONCURRENCY": str(concurrency),
    }
    return make_stack(
        database_url=url,
        broker_url=broker_url,
        logs=logs,
        profile=profile,
        secret_key=SECRET_KEY,
        audit_key=AUDIT_KEY,
        settings={**worker, **(settings or {})},
    )


def start_stack(stack: Stack, processes: int) -> None:
    for name in ("simulator", "api", "worker", "beat"):
        stack.start(name, name)
    wait_http_ok(f"{stack.simulator_url}/healthz")
    wait_http_ok(f"{stack.api_url}/readyz")
    # The workers are up when each has said so; the first task should not wait for a boot.
    deadline = time.monotonic() + 60
    while stack.log("worker").count(" ready.") < processes:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not become ready within 60 s")
        time.sleep(0.2)


@contextmanager
def stopped_after(stack: Stack) -> Iterator[Stack]:
    """The stack for a run: stopped at the end, its processes' logs printed if it failed."""
    try:
        yield stack
    except Exception:
        print_logs(stack)
        raise
    finally:
        stack.stop_all()


def print_logs(stack: Stack, limit: int = 30) -> None:
    for name in ("worker", "api", "simulator", "beat"):
        lines = [ln for ln in stack.log(name).splitlines() if ' HTTP/1.1" ' not in ln]
        print(f"--- {name} log, last {limit} lines ---", file=sys.stderr)
        print("\n".join(lines[-limit:]), file=sys.stderr)
