"""Dashboard benchmark: how fast the supervisors' API answers with a busy database.

What is measured: the dashboard's GET endpoints (`/api/v1/dashboard/overview`, `queue`,
`deadlines`, `escalations`, `completion`) on the real API process (`python -m app.cli api`,
one uvicorn process) against the real PostgreSQL server, one request at a time, as a
supervisor of the municipal centre (who sees every case).

How: a throw-away database is created, migrated and seeded with the registry, then filled
by bulk SQL (INSERT ... SELECT over generate_series, a few seconds) with `--cases` cases
received over the last 7 days, 9 suspect accounts each (levels 1-3, every tenth case sharing
an account with the next), one stop-payment per account plus the platform registration
(10 instructions per case: 20,000 for 2,000 cases) in every state and outcome (done,
pending, sent, escalated, expired), an audit event per instruction, and ANALYZE. After
`--warmup` requests per endpoint, each endpoint is asked `--requests` times in turn; latency
is from the start of the request to the full body on a kept-alive connection. The API is
stopped and the database dropped afterwards, even on failure.

    .venv/bin/python bench/dashboard.py [--cases 2000] [--requests 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `app` and `bench` importable

from bench.intake import (  # noqa: E402
    SECRET_KEY,
    _libpq,
    create_database,
    drop_database,
    free_port,
    git_commit,
    machine,
    percentile,
    start_api,
    stop_api,
    wait_ready,
    write_section,
)

HEADING = "## Dashboard (bench/dashboard.py)"
TARGET_P95_MS = 100.0
ENDPOINTS = ("overview", "queue", "deadlines", "escalations", "completion")
ACCOUNTS_PER_CASE = 9

SEED_SQL = """
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


@dataclass(frozen=True)
class Options:
    cases: int
    requests: int
    warmup: int
    out: Path

    @property
    def command(self) -> str:
        return (
            f".venv/bin/python bench/dashboard.py --cases {self.cases} "
            f"--requests {self.requests} --out {self.out}"
        )


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="per endpoint, not counted")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    a = parser.parse_args(argv)
    return Options(cases=a.cases, requests=a.requests, warmup=a.warmup, out=a.out)


def prepare(url: str) -> str:
    """Migrate, seed the registry, add the centre and a supervisor; returns their token."""
    from app.auth.models import Role, Unit, UnitKind, User
    from app.auth.service import create_api_token, hash_password
    from app.db import make_engine, make_sessionmaker, transaction
    from app.institutions.service import seed_institutions
    from app.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            seed_institutions(db, secret_key=SECRET_KEY)
            unit = Unit(
                code="BENCH",
                name_zh="压测中心",
                name_en="Bench centre",
                kind=UnitKind.municipal_centre.value,
            )
            db.add(unit)
            db.flush()
            user = User(
                username="bench-supervisor",
                display_name="Bench supervisor",
                password_hash=hash_password(uuid.uuid4().hex),
                role=Role.supervisor.value,
                unit_id=unit.id,
                language="en",
            )
            db.add(user)
            db.flush()
            return create_api_token(db, user=user, name="bench", max_age_s=3600)[0]
    finally:
        engine.dispose()


def seed(url: str, cases: int) -> dict[str, int]:
    """Fill the database by bulk SQL; returns the rows per table."""
    with psycopg.connect(_libpq(url)) as conn:
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
        for statement in SEED_SQL.split(";\n"):
            if statement.strip():
                conn.execute(statement, params)  # type: ignore[arg-type]
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
        return {
            table: (conn.execute(f'SELECT count(*) FROM "{table}"').fetchone() or (0,))[0]
            for table in ("case", "account", "case_account", "instruction", "event")
        }


def measure(base_url: str, token: str, options: Options) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for round_ in range(options.warmup + options.requests):
            for name in ENDPOINTS:
                started = time.perf_counter()
                answer = client.get(f"/api/v1/dashboard/{name}")
                elapsed = (time.perf_counter() - started) * 1000
                answer.raise_for_status()
                if round_ >= options.warmup:
                    samples[name].append(elapsed)
    return samples


def render(
    samples: dict[str, list[float]],
    rows: dict[str, int],
    options: Options,
    sizes: dict[str, int],
    load: tuple[float, float],
) -> str:
    worst = max(percentile(v, 95) for v in samples.values())
    lines = [
        HEADING,
        "",
        "The supervisors' API over a database of many cases, one request at a time against "
        "the real API process and PostgreSQL server (see the script's docstring for the data).",
        "",
        f"- command: `{options.command}`",
        f"- date (UTC): {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        f"- machine: {machine()}; 1-minute load average {load[0]:.2f} before the run, "
        f"{load[1]:.2f} at its end",
        f"- commit: {git_commit()}",
        "- rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()),
        "",
        "| endpoint | answer size | p50 | p95 | p99 | max |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, values in samples.items():
        lines.append(
            f"| GET /api/v1/dashboard/{name} | {sizes[name] / 1024:.1f} KiB "
            f"| {statistics.median(values):.1f} ms | {percentile(values, 95):.1f} ms "
            f"| {percentile(values, 99):.1f} ms | {max(values):.1f} ms |"
        )
    verdict = "PASS" if worst < TARGET_P95_MS else "FAIL"
    lines += [
        "",
        f"Target (issue 7): every endpoint under {TARGET_P95_MS:.0f} ms at p95 with 2,000 cases "
        f"and 20,000 instructions: **{verdict}** (worst p95 {worst:.1f} ms).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    url = create_database()
    proc = None
    try:
        token = prepare(url)
        started = time.perf_counter()
        rows = seed(url, options.cases)
        print(f"seeded in {time.perf_counter() - started:.1f} s: {rows}")
        port = free_port()
        with tempfile.TemporaryDirectory() as workdir:
            proc = start_api(url, port, Path(workdir) / "api.log")
            base_url = f"http://127.0.0.1:{port}"
            wait_ready(base_url, proc)
            before = os.getloadavg()[0]
            samples = measure(base_url, token, options)
            with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as c:
                sizes = {n: len(c.get(f"/api/v1/dashboard/{n}").content) for n in ENDPOINTS}
            section = render(samples, rows, options, sizes, (before, os.getloadavg()[0]))
    finally:
        if proc is not None:
            stop_api(proc)
        drop_database(url)
    print(section)
    write_section(options.out, section, heading=HEADING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
