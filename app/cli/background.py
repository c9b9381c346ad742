"""The Celery processes: workers (one lane or all), beat, and Flower to watch them."""

from __future__ import annotations

import sys

import click

from app.config import Settings, get_settings


@click.command()
@click.option(
    "--concurrency",
    type=int,
    default=None,
    help="Threads per process (default STOPAY_WORKER_CONCURRENCY).",
)
@click.option(
    "--processes",
    type=int,
    default=None,
    help="Worker processes (default STOPAY_WORKER_PROCESSES).",
)
@click.option("--name", default=None, help="Celery node name, before .QUEUE@host (default worker).")
@click.option(
    "--lane",
    type=click.Choice(["all", "banks", "payments"]),
    default="all",
    show_default=True,
    help="Send instructions to banks only, to payment institutions only, or to all.",
)
def worker(concurrency: int | None, processes: int | None, name: str | None, lane: str) -> None:
    """Celery workers: STOPAY_WORKER_PROCESSES processes of STOPAY_WORKER_CONCURRENCY threads.

    One threads-pool process runs Python on one core at a time; a second process uses the
    second core (BENCHMARKS.md, fan-out). Workers of one lane take only its queue: the
    banks' lane (the base queue, with beat's tasks) or the payment institutions'.
    """
    from app.dispatch.publish import Lane, lane_queue
    from workers.celery_app import celery_app

    settings = get_settings()
    _configure_logging("worker", settings)
    count = processes or settings.worker_processes
    if count > 1:
        sys.exit(_worker_processes(count, concurrency, name=name, lane=lane))
    lanes = list(Lane) if lane == "all" else [Lane(lane)]
    celery_app.worker_main(
        [
            *_celery_quiet(settings),
            "worker",
            "--loglevel=INFO",
            f"--pool={settings.worker_pool}",
            f"--concurrency={concurrency or settings.worker_concurrency}",
            f"--hostname={node_name(name or 'worker', settings.queue)}",
            f"--queues={','.join(lane_queue(settings.queue, one) for one in lanes)}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def _configure_logging(role: str, settings: Settings) -> None:
    from app.logs import configure_logging

    configure_logging(role, settings.log_format)


def _celery_quiet(settings: Settings) -> list[str]:
    """Celery prints its banner straight to stdout: not in a log of one JSON object a line."""
    return ["--quiet"] if settings.log_format == "json" else []


def basic_auth_ok(value: str) -> bool:
    """Whether FLOWER_BASIC_AUTH is `user:password`, or several separated by commas."""
    pairs = [pair.partition(":") for pair in value.split(",")]
    return all(user and sep and password for user, sep, password in pairs)


def node_name(name: str, queue: str) -> str:
    """The Celery node name: unique per queue, because RabbitMQ gives each node an exclusive
    control queue, and two stacks on one broker and host with the same names would lock
    each other out (the second worker dies with RESOURCE_LOCKED)."""
    return f"{name}.{queue}@%h"


def _worker_processes(count: int, concurrency: int | None, *, name: str | None, lane: str) -> int:
    """Run `count` single-process workers; stop them all when told to or when one exits.
    They are named `worker1`, `worker2`, … (or `NAME-1`, … with --name), so two workers on
    one host never share a node name."""
    import signal
    import subprocess
    import time

    argv = [sys.executable, "-m", "app.cli", "worker", "--processes", "1", "--lane", lane]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    names = [f"{name}-{i}" if name else f"worker{i}" for i in range(1, count + 1)]
    children = [subprocess.Popen([*argv, "--name", child]) for child in names]

    def stop(signum: int, _frame: object = None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A worker that exits alone leaves a half-sized service: stop the rest, exit, be restarted.
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    stop(signal.SIGTERM)
    codes = [child.wait() for child in children]
    return next((code for code in codes if code), 0)


@click.command()
def beat() -> None:
    """Celery beat: the periodic tasks."""
    from workers.celery_app import celery_app

    settings = get_settings()
    _configure_logging("beat", settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.data_dir / "celerybeat-schedule"
    celery_app.start(
        [*_celery_quiet(settings), "beat", "--loglevel=INFO", f"--schedule={schedule}"]
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option("--port", type=int, default=5555, show_default=True)
def flower(host: str, port: int) -> None:
    """Flower, the Celery monitoring view, behind HTTP basic auth (FLOWER_BASIC_AUTH).

    Needs the `monitoring` extra (`pip install 'stopay[monitoring]'`; the Docker image has it).
    """
    import importlib.util
    import os

    from workers.celery_app import celery_app

    # Flower can revoke tasks and shut workers down, and shows every task's arguments: it is
    # never served without a password. It reads FLOWER_BASIC_AUTH itself.
    if not basic_auth_ok(os.environ.get("FLOWER_BASIC_AUTH", "")):
        raise click.UsageError("set FLOWER_BASIC_AUTH=user:password (Flower never runs open)")
    if importlib.util.find_spec("flower") is None:
        raise click.UsageError("Flower is not installed: pip install 'stopay[monitoring]'")
    settings = get_settings()
    _configure_logging("flower", settings)
    celery_app.start([*_celery_quiet(settings), "flower", f"--address={host}", f"--port={port}"])
