"""The workers' database: one engine per process, one transaction per task."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings
from app.db import make_engine, make_sessionmaker


@lru_cache
def task_sessionmaker() -> sessionmaker[Session]:
    database_url, _ = get_settings().require_urls()
    return make_sessionmaker(make_engine(database_url, pool_size=10, max_overflow=40))
