"""A year of a busy centre for bench/dashboard.py, written by bulk SQL in a few seconds.

`cases` cases received evenly over the last 365 days (about 55 a day for 20,000), each with
the victim's own account (level 0) and 9 suspect accounts (levels 1-3; every tenth case shares
an account with the next), a stop-payment per suspect account and the registration at the
national platform: 10 instructions per case. As in life, the state follows the age: cases
older than a month are mostly closed, the last two days' are still being stopped; instructions
of the last hour are pending or sent, escalations are of the last two weeks (half of them
marked handled), and stop-payments older than 48 h have expired. One case in five had its
stopped level-1 accounts frozen a day later (6 months); freezes of closed cases were released,
freezes older than 6 months expired. Returns to the victim: confirmed for the cases being
returned, completed for the closed ones. Three audit events per finished instruction
(created, acknowledged, outcome).

Plus one big case, `BENCH-BIG` (a day old): 300 suspect accounts over 5 levels, a transfer
into each and a stop-payment to each, still in force (too young for freezes).
"""

from __future__ import annotations

import psycopg

from bench.support.db import libpq

BIG_CASE = "BENCH-BIG"
TABLES = ("case", "account", "case_account", "transfer", "instruction", "victim_return", "event")

CASES_SQL = """
INSERT INTO "case" (case_no, received_at, channel, victim_name, fraud_type, total_amount,
                    priority, status, unit_id, call_taker_id)
SELECT 'BENCH-' || lpad(g::text, 6, '0'), r.at, 'phone_call', '受害人' || g,
       (ARRAY['brushing_rebate', 'fake_investment_platform', 'impersonate_authority',
              'romance_investment', 'fake_loan'])[1 + g %% 5],
       (1000 + (g * 7919) %% 900000)::numeric,
       (ARRAY['special', 'high', 'medium', 'low'])[1 + g %% 4],
       CASE WHEN r.at < now() - interval '30 days'
                 THEN (ARRAY['closed', 'closed', 'closed', 'closed', 'closed', 'closed',
                             'closed', 'closed', 'frozen', 'returning'])[1 + g %% 10]
            WHEN r.at < now() - interval '2 days'
                 THEN (ARRAY['frozen', 'stopped', 'partly_stopped', 'returning', 'closed',
                             'nothing_stopped'])[1 + g %% 6]
            ELSE (ARRAY['stopping', 'stopped', 'partly_stopped', 'nothing_stopped'])[1 + g %% 4]
       END,
       %(unit)s, %(user)s
FROM generate_series(1, %(cases)s) AS g,
     LATERAL (SELECT now() - (%(cases)s - g) * interval '365 days' / %(cases)s
                     - (g %% 17) * interval '1 minute' AS at) AS r;

INSERT INTO "case" (case_no, received_at, channel, victim_name, fraud_type, total_amount,
                    priority, status, unit_id, call_taker_id)
VALUES (%(big)s, now() - interval '1 day', 'phone_call', '大案受害人', 'fake_investment_platform',
        30000000, 'special', 'partly_stopped', %(unit)s, %(user)s);

-- Per case: the victim's own account (n = 0) and 9 suspect accounts (n = 1..9); the big case
-- has 300. The account row is numbered by case and n, so the links can find it.
CREATE TEMP TABLE plan AS
SELECT c.id AS case_id, c.received_at, n,
       CASE WHEN n = 0 THEN 0 WHEN c.case_no = %(big)s THEN 1 + (n - 1) / 60
            ELSE 1 + (n - 1) / 3 END AS level,
       'B' || c.id || '-' || n AS number
FROM "case" c, generate_series(0, CASE WHEN c.case_no = %(big)s THEN 300 ELSE 9 END) AS n;

INSERT INTO account (institution_id, account_no, account_no_norm, kind)
SELECT (%(banks)s::int[])[1 + (p.case_id + p.n) %% cardinality(%(banks)s::int[])],
       p.number, p.number, CASE WHEN p.n = 0 THEN 'bank_card' ELSE 'bank_account' END
FROM plan p;

INSERT INTO case_account (case_id, account_id, role, level)
SELECT p.case_id, a.id, CASE WHEN p.level = 0 THEN 'victim' ELSE 'suspect' END, p.level
FROM plan p JOIN account a ON a.account_no_norm = p.number;

-- Every tenth case shares its first suspect account with the next (a mule in two cases).
INSERT INTO case_account (case_id, account_id, role, level)
SELECT p.case_id + 1, a.id, 'suspect', 1
FROM plan p JOIN account a ON a.account_no_norm = p.number
WHERE p.case_id %% 10 = 0 AND p.n = 1 AND EXISTS (SELECT 1 FROM "case" WHERE id = p.case_id + 1);

INSERT INTO transfer (case_id, from_account_id, to_account_id, amount, occurred_at, channel)
SELECT f.case_id, f.account_id, t.account_id, 10000 + t.id %% 90000, c.received_at - interval '1 h',
       'online_banking'
FROM case_account t
JOIN "case" c ON c.id = t.case_id AND c.case_no = %(big)s
JOIN case_account f ON f.case_id = t.case_id AND f.level = t.level - 1
     AND f.id = (SELECT min(x.id) FROM case_account x WHERE x.case_id = t.case_id
                 AND x.level = t.level - 1)
WHERE t.level > 0;
"""

STOPS_SQL = """
INSERT INTO instruction (case_id, account_id, institution_id, kind, state, outcome,
                         amount_requested, amount_stopped, idempotency_key, attempts,
                         created_at, first_attempt_at, acked_at, completed_at, effective_at,
                         expires_at, escalated_at, last_error)
SELECT s.case_id, s.account_id, s.institution_id, 'stop_payment', s.state, s.outcome, s.amount,
       CASE s.outcome WHEN 'stopped_full' THEN s.amount WHEN 'stopped_partial' THEN s.amount / 2
       END,
       'bench-' || s.case_id || '-' || s.account_id, 1 + (s.state = 'escalated')::int * 3,
       s.t, s.t + interval '0.1 s',
       CASE WHEN s.state NOT IN ('pending', 'escalated') THEN s.t + (s.k %% 7) * interval '0.2 s'
       END,
       CASE WHEN s.outcome IS NOT NULL THEN s.t + (1 + s.k %% 11) * interval '1 s' END,
       CASE WHEN s.outcome LIKE 'stopped%%' THEN s.t + (1 + s.k %% 11) * interval '1 s' END,
       CASE WHEN s.outcome LIKE 'stopped%%' THEN s.t + (1 + s.k %% 11) * interval '1 s'
                                                  + interval '48 h' END,
       CASE WHEN s.state = 'escalated' THEN s.t + interval '2 min' END,
       CASE WHEN s.state = 'escalated' THEN 'BANK: no acknowledgement within its SLA' END
FROM (
    SELECT ca.case_id, ca.account_id, a.institution_id, ca.id AS k,
           c.received_at + interval '5 s' AS t, 1000 + (ca.id * 31 %% 200000)::numeric AS amount,
           CASE WHEN c.received_at > now() - interval '1 hour' AND ca.id %% 5 = 0 THEN 'pending'
                WHEN c.received_at > now() - interval '1 hour' AND ca.id %% 5 = 1 THEN 'sent'
                WHEN c.received_at > now() - interval '14 days' AND ca.id * 37 %% 101 = 2
                     THEN 'escalated'
                WHEN c.received_at > now() - interval '1 day' AND ca.id %% 1000 = 3 THEN 'sent'
                ELSE 'done' END AS state
    FROM case_account ca
    JOIN account a ON a.id = ca.account_id
    JOIN "case" c ON c.id = ca.case_id
    WHERE ca.level > 0
) AS s0
CROSS JOIN LATERAL (
    SELECT s0.*, CASE WHEN s0.state <> 'done' THEN NULL
                      ELSE (ARRAY['stopped_full', 'stopped_partial', 'stopped_full', 'no_funds',
                                  'mismatch', 'stopped_full', 'account_not_found',
                                  'stopped_partial'])[1 + s0.k %% 8] END AS outcome
) AS s
ON CONFLICT (idempotency_key) DO NOTHING;

INSERT INTO instruction (case_id, institution_id, kind, state, outcome, idempotency_key,
                         created_at, acked_at, completed_at)
SELECT c.id, %(platform)s, 'register', 'done', 'registered', 'bench-register-' || c.id,
       c.received_at + interval '1 s', c.received_at + interval '1.2 s',
       c.received_at + interval '3 s'
FROM "case" c;
"""

# A day after the stop, one case in five froze its stopped level-1 accounts for 6 months;
# closed cases had them released after 45 days.
HOLDS_SQL = """
INSERT INTO instruction (case_id, account_id, institution_id, parent_id, kind, state, outcome,
                         amount_requested, amount_stopped, idempotency_key, attempts, created_at,
                         first_attempt_at, acked_at, completed_at, effective_at, expires_at,
                         released_at)
SELECT i.case_id, i.account_id, i.institution_id, i.id, 'freeze', 'done',
       CASE WHEN i.outcome = 'stopped_full' THEN 'frozen_full' ELSE 'frozen_partial' END,
       i.amount_stopped, i.amount_stopped, 'bench-freeze-' || i.id, 1,
       i.created_at + interval '1 day', i.created_at + interval '1 day 1 s',
       i.created_at + interval '1 day 2 s', i.created_at + interval '1 day 1 hour',
       i.created_at + interval '1 day 1 hour', i.created_at + interval '181 days 1 hour',
       CASE WHEN c.status = 'closed' AND c.received_at < now() - interval '46 days'
            THEN i.created_at + interval '46 days' END
FROM instruction i
JOIN "case" c ON c.id = i.case_id
JOIN case_account ca ON ca.case_id = i.case_id AND ca.account_id = i.account_id
WHERE i.kind = 'stop_payment' AND i.outcome IN ('stopped_full', 'stopped_partial')
  AND i.created_at < now() - interval '1 day'
  AND c.id %% 5 = 0 AND ca.level = 1 AND c.case_no <> %(big)s;

-- What beat's watch would have done: holds whose term is over have expired.
UPDATE instruction SET state = 'expired'
WHERE state = 'done' AND expires_at <= now() AND released_at IS NULL;

INSERT INTO victim_return (case_id, account_id, amount, rule, payable_from, state, batch,
                           confirmed_by, confirmed_at, completed_by, completed_at)
SELECT f.case_id, f.account_id, f.amount_stopped, 'single_victim',
       (f.completed_at + interval '20 days')::date,
       CASE WHEN c.status = 'closed' THEN 'completed' ELSE 'confirmed' END,
       'bench-' || f.id, %(user)s, f.completed_at + interval '20 days',
       CASE WHEN c.status = 'closed' THEN %(user)s END,
       CASE WHEN c.status = 'closed' THEN f.completed_at + interval '25 days' END
FROM instruction f
JOIN "case" c ON c.id = f.case_id
WHERE f.kind = 'freeze' AND c.status IN ('returning', 'closed')
  AND f.completed_at < now() - interval '20 days';
"""

# History dated in the past, loaded as a restore would be: with the triggers off, for the
# audit trail refuses backdated events and events from outside the audit service.
EVENTS_SQL = """
SET LOCAL session_replication_role = replica;

INSERT INTO event (occurred_at, kind, actor_kind, case_id, instruction_id, data)
SELECT e.at, e.kind, 'system', i.case_id, i.id, '{}'
FROM instruction i
CROSS JOIN LATERAL (VALUES (i.created_at, 'instruction.created'),
                           (i.acked_at, 'instruction.acked'),
                           (i.completed_at, 'instruction.outcome')) AS e(at, kind)
WHERE e.at IS NOT NULL
ORDER BY e.at;

INSERT INTO event (occurred_at, kind, actor_kind, actor_user_id, case_id, instruction_id, data)
SELECT least(i.escalated_at + interval '10 min', now()), 'escalation.handled', 'user',
       %(user)s, i.case_id, i.id,
       jsonb_build_object('note', 'phoned the desk', 'institution', 'BANK')
FROM instruction i
WHERE i.state = 'escalated' AND i.id %% 2 = 0;
"""


def seed_year(url: str, cases: int) -> dict[str, int]:
    """Fill the database (see the module's docstring); returns the rows per table."""
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
            "big": BIG_CASE,
        }
        for script in (CASES_SQL, STOPS_SQL, HOLDS_SQL, EVENTS_SQL):
            for statement in script.split(";\n"):
                if statement.strip():
                    conn.execute(statement, params)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        return {
            table: (conn.execute(f'SELECT count(*) FROM "{table}"').fetchone() or (0,))[0]
            for table in TABLES
        }
