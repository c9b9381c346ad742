"""`stopay run`: the whole service on one machine, embedded servers unless URLs are set.

Each child runs in its own session, so a Ctrl-C at the terminal reaches only this process,
which then stops the children in order (and their own children) and the embedded servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from app.config import Settings
from app.demo import DEMO_USERS
from app.embedded import EmbeddedPostgres, EmbeddedRedis

# A worker's warm shutdown waits for its running tasks, then seals and checkpoints the audit
# chain (workers/maintenance.py): as long as docker-compose's stop_grace_period.
STOP_TIMEOUT_S = 60.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None


class Stop(Exception):
    """Raised in the main loop by SIGINT / SIGTERM."""


@contextmanager
def services(settings: Settings, *, broker: bool = True) -> Iterator[tuple[str, str]]:
    """The database and broker URLs: the configured ones, or embedded servers started now.

    With broker=False no embedded broker is started and its URL comes back empty.
    """
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        database_url = settings.database_url
        if database_url is None:
            pg = EmbeddedPostgres(settings.data_dir)
            started.append(pg)
            database_url = pg.start()
        broker_url = settings.broker_url or ""
        if settings.broker_url is None and broker:
            redis = EmbeddedRedis(settings.data_dir)
            started.append(redis)
            broker_url = redis.start()
        yield database_url, broker_url
    finally:
        for server in reversed(started):
            server.stop()


def _stop(children: list[Child]) -> None:
    """SIGTERM every child's process group, newest first; SIGKILL what outlives the timeout."""
    alive = [c for c in reversed(children) if c.process and c.process.poll() is None]
    for child in alive:
        assert child.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in alive:
        assert child.process is not None
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {child.name} did not stop in time; killing it", file=sys.stderr)
        # Whatever the child left behind in its group goes too (pool processes).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()


def _wait_ready(url: str, children: list[Child], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in children:
            if child.process is not None and child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url}/readyz did not answer 200 within {timeout_s:.0f} s")


def _where(configured: str | None, env_name: str, folder: Path) -> str:
    return env_name if configured is not None else f"embedded, data in {folder.resolve()}"


def _banner(settings: Settings) -> str:
    api, data = settings.public_api_url, settings.data_dir
    lines = [
        "",
        "Rapid stop-payment service is running.",
        f"  Web and API:   {api}/   (API docs: {api}/docs)",
        f"  Simulator:     {settings.public_simulator_url}/",
        f"  Database:      {_where(settings.database_url, 'DATABASE_URL', data / 'postgres')}",
        f"  Broker:        {_where(settings.broker_url, 'BROKER_URL', data / 'redis')}",
        f"  Audit chain:   checkpoints in {settings.audit_checkpoint_path.resolve()}",
    ]
    if settings.audit_key is None and settings.audit_key_file is None:
        lines.append(
            "                 sealed with a key derived from the secret key (demo only: "
            "set STOPAY_AUDIT_KEY)"
        )
    if settings.is_demo:
        lines.append("  Demo log-ins:")
        lines.extend(
            f"    {u.username:<11} / {u.password:<16} {u.role.value} ({u.unit_code})"
            for u in DEMO_USERS
        )
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def children_log_format(settings: Settings) -> str:
    """STOPAY_LOG_FORMAT if set; otherwise text in demo mode, where a person reads the
    terminal, and JSON on real servers, where a log collector does."""
    if "log_format" in settings.model_fields_set:
        return settings.log_format
    return "text" if settings.is_demo else "json"


def run(settings: Settings, *, ready_timeout_s: float = 60.0) -> int:
    """Start everything, print where it is, and stop it all on Ctrl-C. Returns an exit code."""
    from app.prepare import prepare_database

    settings.check_secrets()

    def _raise_stop(signum: int, _frame: FrameType | None) -> None:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    children: list[Child] = []
    try:
        with services(settings) as (database_url, broker_url):
            prepare_database(settings, database_url)
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "BROKER_URL": broker_url,
                "STOPAY_DEMO": "true" if settings.is_demo else "false",
                "STOPAY_API_URL": settings.public_api_url,
                "STOPAY_SIMULATOR_URL": settings.public_simulator_url,
                "STOPAY_LOG_FORMAT": children_log_format(settings),
            }
            me = [sys.executable, "-m", "app.cli"]
            children = [
                Child("simulator", [*me, "simulator"]),
                Child("worker", [*me, "worker"]),
                Child("beat", [*me, "beat"]),
                Child("api", [*me, "api"]),
            ]
            for child in children:
                child.process = subprocess.Popen(child.argv, env=env, start_new_session=True)
            try:
                _wait_ready(settings.public_api_url, children, ready_timeout_s)
                print(_banner(settings), flush=True)
                while True:
                    for child in children:
                        assert child.process is not None
                        if child.process.poll() is not None:
                            print(f"{child.name} exited unexpectedly; stopping.", file=sys.stderr)
                            return 1
                    time.sleep(0.5)
            finally:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                print("\nStopping…", flush=True)
                _stop(children)
    except Stop:
        return 0
    except RuntimeError as exc:
        print(f"stopay run: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return 0
