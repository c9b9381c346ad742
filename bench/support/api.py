"""The API alone, as one uvicorn process (`python -m app.cli api`), with no worker: the
intake and dashboard benchmarks measure it by itself. Its tasks pile up in a Redis database
of its own (db 14), emptied afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.support.stack import AUDIT_KEY, ROOT, SECRET_KEY

BROKER_URL = "redis://127.0.0.1:6379/14"


def start_api(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("STOPAY_DATABASE_URL", "STOPAY_BROKER_URL")
    }
    env.update(
        DATABASE_URL=url,
        BROKER_URL=BROKER_URL,
        STOPAY_SECRET_KEY=SECRET_KEY,
        STOPAY_AUDIT_KEY=AUDIT_KEY,
        STOPAY_DEMO="false",
    )
    # A file, not a pipe: uvicorn's access log would fill a pipe nobody reads and stall it.
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "api", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API was not ready within {timeout_s:g} s")


def stop_process(
    proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 15
) -> None:
    """Stop a process we started (the API, a benchmark): `sig`, then a kill after `timeout`."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def print_api_log(log: Path, limit: int = 40) -> None:
    """The API's own messages (tracebacks, warnings), without the access log lines."""
    lines = [
        line for line in log.read_text(errors="replace").splitlines() if ' HTTP/1.1" ' not in line
    ]
    print(f"API log, last {limit} lines other than access log ({log}):", file=sys.stderr)
    print("\n".join(lines[-limit:]), file=sys.stderr)
