"""Bringing a database to what this code needs: migrated, then the institution registry
(and, in demo mode, the demo units and users) seeded. Used by `stopay migrate`, `stopay seed`
and `stopay run` (app/runner.py)."""

from __future__ import annotations

import click

from app.config import Settings


def migrate_database(database_url: str) -> None:
    from app.migrate import upgrade

    upgrade(database_url)


def seed_database(settings: Settings, database_url: str) -> None:
    """Load the institution registry, and the demo units and users in demo mode."""
    from app.db import make_engine, make_sessionmaker, transaction
    from app.demo import seed_demo
    from app.institutions.service import seed_institutions

    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            inserted, updated = seed_institutions(db, secret_key=settings.secret_key)
            users = seed_demo(db) if settings.is_demo else 0
    finally:
        engine.dispose()
    click.echo(
        f"Seeded: institutions {inserted} added, {updated} updated; demo users {users} added."
    )


def prepare_database(settings: Settings, database_url: str) -> None:
    """Migrate to head, then seed."""
    migrate_database(database_url)
    seed_database(settings, database_url)
