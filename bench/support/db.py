"""Throw-away databases on the bench's PostgreSQL server: create, migrate, seed, drop.

`prepare_database` is what the intake, fan-out, trace and load benchmarks start from (the
registry and a call-taker with an API token); `prepare_supervisor` and `seed_dashboard` are
the dashboard benchmark's (a supervisor of the municipal centre, and thousands of cases
written by bulk SQL).
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
DASHBOARD_TABLES = ("case", "account", "case_account", "instruction", "event")


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg wants it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database() -> str:
    """An empty database on the bench server; returns its SQLAlchemy URL."""
    name = f"stopay_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(libpq(ADMIN_URL), autocommit=True) as conn:
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


def seed_dashboard(url: str, cases: int) -> dict[str, int]:
    """Fill the database by bulk SQL (DASHBOARD_SQL); returns the rows per table."""
    with psycopg.connect(libpq(url)) as conn:
        unit, user = conn.execute('SELECT unit_id, id FROM "user"').fetchone() or (0, 0)
        banks = [r[0] for r in conn.execute("SELECT id FROM institution WHERE kind = 'bank'")]
        platform = conn.execute("SELECT id FROM institution WHERE code = 'NFPP'").fetchone()
        params = {
            "unit": unit,
            "user": user,
            "cases": cases,
            "banks": banks,
            "platform": platform[0] if platform else 0,
        }
        for statement in DASHBOARD_SQL.split(";\n"):
            if statement.strip():
                conn.execute(statement, params)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
        return {
            table: (conn.execute(f'SELECT count(*) FROM "{table}"').fetchone() or (0,))[0]
            for table in DASHBOARD_TABLES
        }


# `cases` cases over the last 7 days, 9 suspect accounts each (levels 1-3, every tenth case
# sharing an account with the next), one stop-payment per account plus the registration, in
# every state and outcome, and an audit event per instruction (bench/dashboard.py).
DASHBOARD_SQL = """
INSERT INTO "case" (case_no, received_at, channel, victim_name, fraud_type, total_amount,
                    priority, status, unit_id, call_taker_id)
SELECT 'BENCH-' || lpad(g::text, 6, '0'),
       now() - (g %% 168) * interval '1 hour' - (g %% 53) * interval '1 minute',
       'phone_call', '受害人' || g, 'brushing_rebate', (1000 + (g * 7919) %% 900000)::numeric,
       (ARRAY['special', 'high', 'medium', 'low'])[1 + g %% 4],
       (ARRAY['stopping', 'stopped', 'partly_stopped', 'frozen', 'closed'])[1 + g %% 5],
       %(unit)s, %(user)s
FROM generate_series(1, %(cases)s) AS g;

INSERT INTO account (institution_id, account_no, account_no_norm, kind)
SELECT (%(banks)s::int[])[1 + g %% cardinality(%(banks)s::int[])], 'B' || g, 'B' || g,
       'bank_account'
FROM generate_series(1, %(cases)s * 9) AS g;

WITH c AS (SELECT id, received_at, row_number() OVER (ORDER BY id) AS n FROM "case"),
     a AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM account)
INSERT INTO case_account (case_id, account_id, role, level)
SELECT c.id, a.id, 'suspect', 1 + ((a.n - 1) %% 9) / 3
FROM a JOIN c ON c.n = (a.n - 1) / 9 + 1;

-- Every tenth case shares its first account with the next case (a mule in two cases).
INSERT INTO case_account (case_id, account_id, role, level)
SELECT ca.case_id + 1, ca.account_id, 'suspect', 1
FROM case_account ca
WHERE ca.case_id %% 10 = 0 AND ca.level = 1
  AND ca.account_id = (SELECT min(account_id) FROM case_account x WHERE x.case_id = ca.case_id)
  AND ca.case_id + 1 IN (SELECT id FROM "case");

INSERT INTO instruction (case_id, account_id, institution_id, kind, state, outcome,
                         amount_requested, amount_stopped, idempotency_key, attempts,
                         created_at, first_attempt_at, acked_at, completed_at, effective_at,
                         expires_at, escalated_at)
SELECT s.case_id, s.account_id, s.institution_id, 'stop_payment', s.state, s.outcome,
       s.amount,
       CASE s.outcome WHEN 'stopped_full' THEN s.amount WHEN 'stopped_partial' THEN s.amount / 2
       END,
       'bench-' || s.case_id || '-' || s.account_id, 1,
       s.t, s.t + interval '0.1 s',
       CASE WHEN s.state <> 'pending' THEN s.t + (s.k %% 7) * interval '0.2 s' END,
       CASE WHEN s.outcome IS NOT NULL THEN s.t + (1 + s.k %% 11) * interval '1 s' END,
       CASE WHEN s.outcome LIKE 'stopped%%' THEN s.t + (1 + s.k %% 11) * interval '1 s' END,
       CASE WHEN s.outcome LIKE 'stopped%%' THEN s.t + (1 + s.k %% 11) * interval '1 s'
                                                  + interval '48 h' END,
       CASE WHEN s.state = 'escalated' THEN s.t + interval '2 min' END
FROM (
    SELECT ca.case_id, ca.account_id, a.institution_id, ca.id AS k,
           c.received_at + interval '5 s' AS t, 1000 + (ca.id * 31 %% 200000)::numeric AS amount,
           CASE WHEN ca.id %% 50 = 0 THEN 'pending' WHEN ca.id %% 50 = 1 THEN 'sent'
                WHEN ca.id %% 200 = 2 THEN 'escalated' ELSE 'done' END AS state,
           CASE WHEN ca.id %% 50 IN (0, 1) OR ca.id %% 200 = 2 THEN NULL
                ELSE (ARRAY['stopped_full', 'stopped_partial', 'stopped_full', 'no_funds',
                            'mismatch', 'stopped_full', 'account_not_found',
                            'stopped_partial'])[1 + ca.id %% 8] END AS outcome
    FROM case_account ca
    JOIN account a ON a.id = ca.account_id
    JOIN "case" c ON c.id = ca.case_id
) AS s
ON CONFLICT (idempotency_key) DO NOTHING;

INSERT INTO instruction (case_id, institution_id, kind, state, outcome, idempotency_key,
                         created_at, acked_at, completed_at)
SELECT c.id, %(platform)s, 'register', 'done', 'registered', 'bench-register-' || c.id,
       c.received_at + interval '1 s', c.received_at + interval '1.2 s',
       c.received_at + interval '3 s'
FROM "case" c;

-- What beat's watch would have done: stop-payments whose 48 hours are over have expired.
UPDATE instruction SET state = 'expired' WHERE state = 'done' AND expires_at <= now();

-- History dated in the past, loaded as a restore would be: with the triggers off, for the
-- audit trail refuses backdated events and events from outside the audit service.
SET LOCAL session_replication_role = replica;

INSERT INTO event (occurred_at, kind, actor_kind, case_id, instruction_id)
SELECT created_at, 'instruction.created', 'system', case_id, id FROM instruction;
"""
