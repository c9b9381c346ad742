"""Throw-away databases on the bench's PostgreSQL server: create, migrate, seed, drop.

`prepare_database` is what the intake, fan-out, trace and load benchmarks start from (the
registry and a call-taker with an API token); `prepare_supervisor` is the dashboard
benchmark's (a supervisor of the municipal centre; its year of cases is
bench/dashboard_seed.py's).
"""

from __future__ import annotations

import os
import uuid

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.support.api import BROKER_URL
from bench.support.stack import AUDIT_KEY, SECRET_KEY

ADMIN_URL = os.environ.get(
    "STOPAY_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg wants it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(admin_url: str = ADMIN_URL) -> str:
    """An empty database on the bench server (or the one of `admin_url`); returns its
    SQLAlchemy URL."""
    name = f"stopay_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin_url = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count_rows(url: str, tables: tuple[str, ...]) -> dict[str, int]:
    with psycopg.connect(libpq(url)) as conn:
        counts: dict[str, int] = {}
        for table in tables:
            row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            counts[table] = row[0] if row else 0
        return counts


def _add_user(db: Session, *, username: str, display_name: str, role: str) -> str:
    """A user of a municipal centre of their own; returns their API token."""
    from app.auth.models import Unit, UnitKind, User
    from app.auth.service import create_api_token, hash_password

    unit = Unit(
        code="BENCH",
        name_zh="压测中心",
        name_en="Bench centre",
        kind=UnitKind.municipal_centre.value,
    )
    db.add(unit)
    db.flush()
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(uuid.uuid4().hex),
        role=role,
        unit_id=unit.id,
        language="en",
    )
    db.add(user)
    db.flush()
    return create_api_token(db, user=user, name="bench", max_age_s=3600)[0]


def prepare_database(url: str) -> str:
    """Migrate, seed the registry, add a call-taker; returns the call-taker's API token."""
    from app.auth.models import Role
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, transaction
    from app.migrate import upgrade
    from app.prepare import seed_database

    upgrade(url)
    settings = Settings(
        database_url=url,
        broker_url=BROKER_URL,
        demo=False,
        secret_key=SECRET_KEY,
        audit_key=AUDIT_KEY,
        _env_file=None,
    )
    seed_database(settings, url)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            return _add_user(
                db,
                username="bench-calltaker",
                display_name="Bench call-taker",
                role=Role.call_taker.value,
            )
    finally:
        engine.dispose()


def prepare_supervisor(url: str) -> str:
    """Migrate, seed the registry, add the centre and a supervisor; returns their token."""
    from app.auth.models import Role
    from app.db import make_engine, make_sessionmaker, transaction
    from app.institutions.service import seed_institutions
    from app.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            seed_institutions(db, secret_key=SECRET_KEY)
            return _add_user(
                db,
                username="bench-supervisor",
                display_name="Bench supervisor",
                role=Role.supervisor.value,
            )
    finally:
        engine.dispose()
