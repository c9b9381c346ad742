"""The whole service as separate processes, for the tests: bench/support/stack.py's harness
with the tests' keys and simulator profile."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.support import stack as harness
from bench.support.stack import Stack, drop_queue, free_port, wait_for, wait_http_ok
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET

__all__ = [
    "PROFILE",
    "Stack",
    "drop_queue",
    "free_port",
    "running_stack",
    "wait_for",
    "wait_http_ok",
]

PROFILE = Path(__file__).with_name("profile.yaml")


@contextmanager
def running_stack(
    *,
    database_url: str,
    broker_url: str,
    queue: str,
    logs: Path,
    settings: dict[str, str],
    workers: Sequence[Sequence[str]] = ((),),
    services: Sequence[str] = ("simulator", "api", "beat"),
) -> Iterator[Stack]:
    """The API, a worker per item of `workers`, beat and the simulator on this database and
    queue (bench.support.stack.running_stack), with the tests' keys and profile."""
    with harness.running_stack(
        database_url=database_url,
        broker_url=broker_url,
        queue=queue,
        logs=logs,
        settings=settings,
        secret_key=TEST_SECRET,
        audit_key=TEST_AUDIT_KEY,
        profile=PROFILE,
        workers=workers,
        services=services,
    ) as stack:
        yield stack
