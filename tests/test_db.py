"""The engines the service makes keep a statement's values out of logs and error messages."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.db import make_engine

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
