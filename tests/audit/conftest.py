from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from app.db import make_engine
from tests.conftest import migrated_database


@pytest.fixture
def own_db() -> Iterator[Session]:
    """A session on a database of its own (rolled back): a chain no other test has sealed."""
    with migrated_database() as url:
        engine = make_engine(url)
        try:
            with engine.connect() as conn, Session(bind=conn) as session:
                yield session
        finally:
            engine.dispose()
