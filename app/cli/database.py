"""The database commands (`migrate`, `seed`; what they do is in app/prepare.py) and the
transaction the admin commands write in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from app.config import get_settings
from app.prepare import migrate_database, seed_database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@click.command()
def migrate() -> None:
    """Bring the database schema up to date (the embedded one when DATABASE_URL is unset)."""
    from app.runner import services

    with services(get_settings(), broker=False) as (database_url, _):
        migrate_database(database_url)
    click.echo("Migrated to the latest schema.")


@click.command()
def seed() -> None:
    """Load the institution registry, and the demo units and users in demo mode."""
    from app.runner import services

    settings = get_settings()
    with services(settings, broker=False) as (database_url, _):
        seed_database(settings, database_url)


@contextmanager
def admin_session() -> Iterator[Session]:
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
