"""`stopay create-token`: a token for an API client, never with scopes beyond the user's role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role
from app.cli import cli
from app.config import get_settings
from app.db import transaction
from tests.factories import make_user


@pytest.fixture
def username(fresh_sessionmaker: sessionmaker[Session]) -> str:
    with transaction(fresh_sessionmaker) as db:
        return make_user(db, role=Role.call_taker).username


@pytest.fixture
def on_test_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("on_test_database")
def test_a_token_within_the_role_is_printed_and_one_beyond_it_is_refused(username: str) -> None:
    granted = CliRunner().invoke(
        cli, ["create-token", "--username", username, "--scope", "cases:read"]
    )
    assert granted.exit_code == 0, granted.output
    assert granted.output.startswith("stp_")

    refused = CliRunner().invoke(
        cli, ["create-token", "--username", username, "--scope", "holds:write"]
    )
    assert refused.exit_code == 2
    assert "a call_taker may not hold holds:write" in refused.output
