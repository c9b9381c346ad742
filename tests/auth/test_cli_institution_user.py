"""`stopay institution-user CODE USERNAME`: a user of one institution, and the handover of its
first callback secret: printed once to whoever runs the command, never logged nor audited."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import Event
from app.auth.models import Role, User
from app.cli import cli
from app.config import get_settings
from app.db import transaction
from app.institutions.models import Institution
from tests.factories import make_unit

CODE = "BOSH"  # an institution no other test signs for


@pytest.fixture
def on_test_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch, fresh_sessionmaker: sessionmaker[Session]
) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    with transaction(fresh_sessionmaker) as db:
        before = db.scalars(select(Institution).where(Institution.code == CODE)).one()
        secrets = (before.callback_secret, before.callback_secret_previous)
    yield
    get_settings.cache_clear()
    with transaction(fresh_sessionmaker) as db:
        row = db.scalars(select(Institution).where(Institution.code == CODE)).one()
        row.callback_secret, row.callback_secret_previous = secrets
        row.callback_secret_previous_until = None


@pytest.mark.usefixtures("on_test_database")
def test_it_makes_a_user_of_the_institution_and_prints_its_first_secret_once_unlogged(
    fresh_sessionmaker: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    username = f"bosh-{uuid.uuid4().hex[:8]}"
    with transaction(fresh_sessionmaker) as db:
        unit = make_unit(db).code
    made = CliRunner().invoke(
        cli,
        ["institution-user", CODE.lower(), username, "--unit", unit, "--new-secret"],
        input="a-long-enough-password\na-long-enough-password\n",
    )
    assert made.exit_code == 0, made.output
    with transaction(fresh_sessionmaker) as db:
        bank = db.scalars(select(Institution).where(Institution.code == CODE)).one()
        user = db.scalars(select(User).where(User.username == username)).one()
        assert (user.role, user.institution_id) == (Role.institution.value, bank.id)
        secret = bank.callback_secret
        # The first handover: nobody holds an earlier secret, so none keeps verifying.
        assert bank.callback_secret_previous is None
        events = db.scalars(select(Event).where(Event.institution_id == bank.id)).all()
    assert made.output.count(secret) == 1
    assert secret not in caplog.text
    assert all(secret not in str(e.data) for e in events)
    assert {"institution.user_created", "institution.secret_rotated"} <= {e.kind for e in events}


@pytest.mark.usefixtures("on_test_database")
def test_an_unknown_institution_or_a_taken_username_is_refused() -> None:
    unknown = CliRunner().invoke(
        cli, ["institution-user", "NOPE", "someone", "--password", "a-long-enough-password"]
    )
    assert unknown.exit_code == 2
    assert "no institution 'NOPE'" in unknown.output
