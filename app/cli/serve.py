"""The HTTP processes: everything at once (`run`), the API, and the simulated institutions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.config import get_settings


@click.command()
def run() -> None:
    """Everything on this machine: API, worker, beat, simulator (embedded servers by default)."""
    from app.runner import run as run_all

    sys.exit(run_all(get_settings()))


@click.command()
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


@click.command()
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
