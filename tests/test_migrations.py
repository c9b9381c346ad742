"""The schema comes only from Alembic, goes down to nothing and back, and matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import downgrade, upgrade
from app.models import Base
from tests.casework import instructions, make_case
from tests.conftest import create_database, drop_database, migrated_database
from tests.factories import fresh_card_no


def test_upgrade_downgrade_upgrade_leaves_the_models_schema() -> None:
    url = create_database("stopay_migr")
    engine = make_engine(url)
    try:
        upgrade(url)
        assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)

        downgrade(url, "base")
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) == {"alembic_version"}

        upgrade(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()
        drop_database(url)


def test_tokens_from_before_scopes_get_their_roles_scopes_and_lose_them_going_down() -> None:
    url = create_database("stopay_migr")
    engine = make_engine(url)
    try:
        upgrade(url, "0008")
        with engine.begin() as conn:
            unit_id = conn.scalar(
                text(
                    "INSERT INTO unit (code, name_zh, name_en, kind) "
                    "VALUES ('U1', '单位', 'Unit', 'municipal_centre') RETURNING id"
                )
            )
            for role in ("call_taker", "supervisor", "admin"):
                user_id = conn.scalar(
                    text(
                        'INSERT INTO "user" (username, display_name, password_hash, role, unit_id) '
                        "VALUES (:role, :role, 'x', :role, :unit_id) RETURNING id"
                    ),
                    {"role": role, "unit_id": unit_id},
                )
                conn.execute(
                    text(
                        "INSERT INTO api_token (user_id, name, token_hash, expires_at) "
                        "VALUES (:user_id, 'old', :hash, now() + interval '1 day')"
                    ),
                    {"user_id": user_id, "hash": role.ljust(64, "0")},
                )

        upgrade(url, "0009")
        with engine.connect() as conn:
            scopes = dict(
                conn.execute(
                    text(
                        'SELECT "user".role, api_token.scopes FROM api_token '
                        'JOIN "user" ON "user".id = api_token.user_id'
                    )
                ).all()
            )
        assert scopes == {
            "call_taker": ["cases:read", "cases:write"],
            "supervisor": ["cases:read", "cases:write", "holds:write"],
            "admin": ["cases:read", "holds:write", "admin"],
        }
        with pytest.raises(IntegrityError, match="ck_api_token_scopes"), engine.begin() as conn:
            conn.execute(text("UPDATE api_token SET scopes = ARRAY['everything']"))

        downgrade(url, "0008")
        columns = {c["name"] for c in inspect(engine).get_columns("api_token")}
        assert "scopes" not in columns
        upgrade(url)
    finally:
        engine.dispose()
        drop_database(url)


# How the worker spelled each kind of error before the class had a column, and its class.
SPELLED = {
    "BOC: no answer in time (TimeoutError)": "timeout",
    "BOC: cannot connect (ClientConnectorError)": "unreachable",
    "BOC: answered 503": "server_error",
    "BOC: rate limited (429)": "rate_limited",
    "BOC: refused with 400 (described)": "refused",
    "BOC: unreadable acknowledgement": "bad_answer",
    "BOC: circuit open": "circuit_open",
    "BOC: at its concurrency cap": "busy",
    "something new": "other",
}


def test_errors_from_before_the_failure_column_get_the_class_they_spelled() -> None:
    with migrated_database() as url:
        engine = make_engine(url)
        try:
            with transaction(make_sessionmaker(engine)) as db:
                to = [(fresh_card_no("CCB"), "100.00") for _ in range(len(SPELLED) + 1)]
                ids = [i.id for i in instructions(db, make_case(db, *to))]
            downgrade(url, "0019")
            with engine.begin() as conn:
                for instruction_id, error in zip(ids, SPELLED, strict=False):
                    conn.execute(
                        text("UPDATE instruction SET last_error = :error WHERE id = :id"),
                        {"error": error, "id": instruction_id},
                    )
            upgrade(url)
            with engine.connect() as conn:
                found = conn.execute(
                    text(
                        "SELECT id, last_error, last_failure FROM instruction WHERE id = ANY(:ids)"
                    ),
                    {"ids": ids},
                ).all()
        finally:
            engine.dispose()
    classes = {error: failure for _, error, failure in found}
    assert classes == {**SPELLED, None: None}  # the one without an error has no class
