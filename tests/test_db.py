"""The engines the service makes keep a statement's values out of logs and error messages."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, snapshot

ID_NO = "11010519491231002X"


def test_a_failed_statement_names_no_value_in_its_error_or_the_log(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # At INFO the engine logs every statement; it decides so when a connection is made.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT :id_no"), {"id_no": ID_NO}).scalar() == ID_NO
            with pytest.raises(DBAPIError) as failed:
                conn.execute(text("SELECT :id_no, 1 / 0"), {"id_no": ID_NO})
    finally:
        engine.dispose()
    assert "SELECT" in caplog.text, "the statements were logged"
    assert ID_NO not in caplog.text
    assert "division by zero" in str(failed.value)
    assert ID_NO not in str(failed.value)


def test_a_snapshot_read_does_not_see_a_commit_made_while_it_reads(
    fresh_sessionmaker: sessionmaker[Session],
) -> None:
    """The live pages read a case, then its instructions: a callback committing in between
    must not show up in the second read only (every instruction done, the case "stopping")."""
    with fresh_sessionmaker() as setup, setup.begin():
        setup.execute(text("CREATE TABLE IF NOT EXISTS snapshot_probe (n integer)"))
        setup.execute(text("DELETE FROM snapshot_probe"))
        setup.execute(text("INSERT INTO snapshot_probe VALUES (1)"))
    try:
        with snapshot(fresh_sessionmaker) as db:
            first = db.execute(text("SELECT n FROM snapshot_probe")).scalar_one()
            with fresh_sessionmaker() as other, other.begin():
                other.execute(text("UPDATE snapshot_probe SET n = 2"))
            assert db.execute(text("SELECT n FROM snapshot_probe")).scalar_one() == first == 1
        with snapshot(fresh_sessionmaker) as db:  # the next read sees it
            assert db.execute(text("SELECT n FROM snapshot_probe")).scalar_one() == 2
    finally:
        with fresh_sessionmaker() as setup, setup.begin():
            setup.execute(text("DROP TABLE snapshot_probe"))
