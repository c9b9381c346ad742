"""The `stopay` command: run everything, or one process at a time, and admin chores."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.auth.models import Scope
from app.config import Settings, get_settings
from app.prepare import migrate_database, seed_database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@click.group()
def cli() -> None:
    """Rapid stop-payment service."""


@cli.command()
def run() -> None:
    """Everything on this machine: API, worker, beat, simulator (embedded servers by default)."""
    from app.runner import run as run_all

    sys.exit(run_all(get_settings()))


@cli.command()
@click.option("--host", default=None, help="Bind address (default STOPAY_API_HOST).")
@click.option("--port", type=int, default=None, help="Port (default STOPAY_API_PORT).")
def api(host: str | None, port: int | None) -> None:
    """The HTTP API and web pages (uvicorn; STOPAY_API_WORKERS processes)."""
    import uvicorn

    from app.health.requests import shared_metrics_dir
    from app.logs import logging_config

    settings = get_settings()
    with shared_metrics_dir(settings.api_workers):
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host or settings.api_host,
            port=port or settings.api_port,
            workers=settings.api_workers,
            log_level="info",
            log_config=logging_config("api", settings.log_format),
            # X-Forwarded-For is believed only from STOPAY_TRUSTED_PROXIES, by the app itself
            # (app/main.py); uvicorn's own handling would trust 127.0.0.1 by default.
            proxy_headers=False,
            # Connections open at once per process; past it uvicorn answers 503 at once.
            limit_concurrency=settings.max_connections,
        )


@cli.command()
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


@cli.command()
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


@cli.command()
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


@cli.command()
@click.option("--host", default=None, help="Bind address (default STOPAY_SIMULATOR_HOST).")
@click.option("--port", type=int, default=None, help="Port (default STOPAY_SIMULATOR_PORT).")
@click.option(
    "--profile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Profile file (default STOPAY_SIMULATOR_PROFILE, else simulator/profiles.yaml).",
)
@click.option(
    "--scenario",
    "scenarios",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="A scenario file to load at start; repeatable (default STOPAY_SIMULATOR_SCENARIOS).",
)
def simulator(
    host: str | None, port: int | None, profile: Path | None, scenarios: tuple[Path, ...]
) -> None:
    """The simulated banks and payment institutions (a separate HTTP peer)."""
    import uvicorn

    from app.logs import logging_config
    from simulator.app import create_app

    settings = get_settings()
    try:
        app = create_app(settings=settings, profile=profile, scenarios=list(scenarios) or None)
    except ValueError as exc:  # a bad profile or scenario file (pydantic errors included)
        raise click.UsageError(str(exc)) from exc
    uvicorn.run(
        app,
        host=host or settings.simulator_host,
        port=port or settings.simulator_port,
        log_level="warning",
        log_config=logging_config("simulator", settings.log_format),
        # Hanging requests (outages, injected timeouts) must not hold up a shutdown.
        timeout_graceful_shutdown=2,
        # Like a bank's gateway, keep idle connections a while: adapters reuse them.
        timeout_keep_alive=65,
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (the embedded one when DATABASE_URL is unset)."""
    from app.runner import services

    with services(get_settings(), broker=False) as (database_url, _):
        migrate_database(database_url)
    click.echo("Migrated to the latest schema.")


@cli.command()
def seed() -> None:
    """Load the institution registry, and the demo units and users in demo mode."""
    from app.runner import services

    settings = get_settings()
    with services(settings, broker=False) as (database_url, _):
        seed_database(settings, database_url)


@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--role", type=click.Choice(["call_taker", "supervisor", "admin"]), required=True)
@click.option("--unit", "unit_code", required=True, help="Code of an existing unit.")
@click.option("--language", type=click.Choice(["zh-CN", "en"]), default="zh-CN")
@click.password_option()
def create_user(
    username: str, display_name: str, role: str, unit_code: str, language: str, password: str
) -> None:
    """Add a person who can log in."""
    from sqlalchemy import select

    from app.auth.models import Unit, User
    from app.auth.service import hash_password

    with _db() as db:
        unit = db.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise click.BadParameter(f"no unit {unit_code!r}", param_hint="--unit")
        db.add(
            User(
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
                unit_id=unit.id,
                language=language,
            )
        )
    click.echo(f"User {username} created.")


@cli.command("create-unit")
@click.option("--code", required=True)
@click.option("--name-zh", required=True)
@click.option("--name-en", required=True)
@click.option(
    "--kind",
    type=click.Choice(["municipal_centre", "district_centre", "police_station"]),
    required=True,
)
@click.option("--parent", default=None, help="Code of the parent unit.")
def create_unit(code: str, name_zh: str, name_en: str, kind: str, parent: str | None) -> None:
    """Add a unit (anti-fraud centre or police station) to the tree."""
    from sqlalchemy import select

    from app.auth.models import Unit

    with _db() as db:
        parent_id = None
        if parent is not None:
            parent_id = db.scalar(select(Unit.id).where(Unit.code == parent))
            if parent_id is None:
                raise click.BadParameter(f"no unit {parent!r}", param_hint="--parent")
        db.add(Unit(code=code, name_zh=name_zh, name_en=name_en, kind=kind, parent_id=parent_id))
    click.echo(f"Unit {code} created.")


@cli.command("create-token")
@click.option("--username", required=True)
@click.option("--name", default="api client", help="What the token is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([scope.value for scope in Scope]),
    help="Repeat for each scope; by default every scope the user's role may hold "
    "but pii:reveal, which must be named.",
)
def create_token(username: str, name: str, scopes: tuple[str, ...]) -> None:
    """Print a new bearer token for an API client acting as USERNAME."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.auth.service import ScopesBeyondRole, create_api_token

    settings = get_settings()
    wanted = [Scope(scope) for scope in scopes] or None
    with _db() as db:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.BadParameter(f"no user {username!r}", param_hint="--username")
        try:
            token, _row = create_api_token(
                db, user=user, name=name, scopes=wanted, max_age_s=settings.api_token_max_age_s
            )
        except ScopesBeyondRole as exc:
            raise click.BadParameter(str(exc), param_hint="--scope") from exc
    click.echo(token)


@cli.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.option("--seal/--no-seal", default=True, help="Seal waiting events first.")
def audit_verify(seal: bool) -> None:
    """Recompute every seal, name events in closed ranges and ids never written, and hold the
    chain against the latest checkpoint; exit 1 if anything does not hold."""
    from app.audit import chain
    from app.audit.keys import Keyring

    settings = get_settings()
    try:
        keys = Keyring.from_settings(settings)
    except (RuntimeError, OSError) as exc:
        raise click.ClickException(f"no audit key: {exc}") from exc
    if seal:
        with _db() as db:
            while chain.seal(db, keys=keys, close_after_s=settings.audit_close_after_s):
                pass
    with _db() as db:
        verdict = chain.verify(
            db,
            keys=keys,
            checkpoints=settings.audit_checkpoint_path,
            checkpoint_interval_s=settings.audit_checkpoint_interval_s,
        )
    if not settings.audit_checkpoint_path.exists():
        click.echo(
            f"No checkpoint file at {settings.audit_checkpoint_path}: a cut tail would not show."
        )
    for first, last in verdict.holes:
        ids = str(first) if first == last else f"{first}-{last}"
        click.echo(f"Ids never written (rolled back before sealing): {ids}")
    if verdict.broken_at is not None:
        click.echo(
            f"BROKEN at seal {verdict.broken_at}: {verdict.reason} "
            f"({verdict.sealed} links hold before it).",
            err=True,
        )
    for finding in verdict.findings:
        click.echo(f"TAMPERED: {finding}", err=True)
    if not verdict.intact:
        sys.exit(1)
    click.echo(
        f"Intact: {verdict.sealed} events sealed, {verdict.unsealed} not sealed yet; "
        f"ids up to {verdict.closed_upto} closed."
    )


@contextmanager
def _db() -> Iterator[Session]:
    """A transaction on the configured database (admin commands need DATABASE_URL); its
    connection is closed afterwards."""
    from app.db import make_engine, make_sessionmaker, transaction

    settings = get_settings()
    if settings.database_url is None:
        raise click.UsageError("set DATABASE_URL (the embedded database runs under `stopay run`)")
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            yield db
    finally:
        engine.dispose()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
