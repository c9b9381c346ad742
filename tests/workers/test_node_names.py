"""Two stacks may share one RabbitMQ and one host: their workers must not lock each other out.

RabbitMQ gives every Celery node an exclusive control queue named after the node; with the
same node names the second stack's worker died with RESOURCE_LOCKED.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"

pytestmark = pytest.mark.slow


def _start(queue: str, log: Path, database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STOPAY_")},
        "DATABASE_URL": database_url,
        "BROKER_URL": RABBITMQ,
        "STOPAY_QUEUE": queue,
        "STOPAY_SECRET_KEY": TEST_SECRET,
        "STOPAY_DEMO": "false",
        "STOPAY_AUDIT_KEY": TEST_AUDIT_KEY,
        # A stopping worker checkpoints the audit chain under its data directory.
        "STOPAY_DATA_DIR": str(log.parent),
        "STOPAY_WORKER_CONCURRENCY": "2",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--processes", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_two_stacks_workers_on_one_rabbitmq_both_run(tmp_path: Path, database_url: str) -> None:
    queues = [f"names-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    logs = [tmp_path / f"{q}.log" for q in queues]
    workers = [_start(q, log, database_url) for q, log in zip(queues, logs, strict=True)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            texts = [log.read_text(errors="replace") for log in logs]
            if all("ready." in text for text in texts):
                break
            assert all(w.poll() is None for w in workers), texts
            time.sleep(0.5)
        time.sleep(2)  # a locked-out node dies just after saying it is ready
        texts = [log.read_text(errors="replace") for log in logs]
        assert not any("RESOURCE_LOCKED" in text for text in texts), texts
        assert [w.poll() for w in workers] == [None, None], texts
        for queue, text in zip(queues, texts, strict=True):
            assert f"worker.{queue}@" in text
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
