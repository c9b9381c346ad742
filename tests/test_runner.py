"""`stopay run` on the embedded servers: starts, migrates, answers, stops clean, restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment carries `marker` (every child of the run inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@contextmanager
def stopay_run(data_dir: Path, marker: str) -> Iterator[tuple[str, Path]]:
    api_port, sim_port = _free_port(), _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "BROKER_URL", "STOPAY_DATABASE_URL", "STOPAY_BROKER_URL"}
    }
    env.update(
        STOPAY_DATA_DIR=str(data_dir),
        STOPAY_API_PORT=str(api_port),
        STOPAY_SIMULATOR_PORT=str(sim_port),
        STOPAY_RUN_MARKER=marker,
    )
    log = data_dir.parent / f"run-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as out:
        # A session of its own: SIGINT to its group is what a Ctrl-C at a terminal does.
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield f"http://127.0.0.1:{api_port}", log
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                assert proc.wait(timeout=60) == 0, log.read_text()
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise


def _wait_ready(url: str, log: Path, timeout_s: float = 60) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready in {timeout_s} s:\n{log.read_text()}")


def test_embedded_run_serves_stops_clean_and_finds_its_data_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    marker = f"stopay-test-{uuid.uuid4().hex}"

    with stopay_run(data_dir, marker) as (url, log):
        _wait_ready(url, log)
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        token = httpx.post(
            f"{url}/api/v1/auth/tokens",
            json={"username": "supervisor", "password": "supervisor-demo"},
        )
        assert token.status_code == 201, token.text
        output = log.read_text()
        assert "Demo log-ins" in output
        assert str(data_dir.resolve()) in output
        assert _processes_with(marker), "the children should be running"

    assert (data_dir / "postgres" / "PG_VERSION").exists()
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker) == [], "Ctrl-C left processes behind"

    with stopay_run(data_dir, marker) as (url, log):
        _wait_ready(url, log)
        assert "institutions 0 added, 0 updated; demo users 0 added" in log.read_text()
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker) == []
