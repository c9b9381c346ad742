"""Database plumbing: the declarative base, engines and the per-request session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    any_,
    bindparam,
    cast,
    create_engine,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Column shapes used everywhere: money is NUMERIC(18, 2), times are timestamptz.
Money = Annotated[Decimal, mapped_column(Numeric(18, 2))]
Timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]
CreatedAt = Annotated[
    dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now())
]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {
        Decimal: Numeric(18, 2),
        dt.datetime: DateTime(timezone=True),
    }


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    # hide_parameters: a statement's values (ID and card numbers among them) stay out of
    # error messages and logs; the statement itself is still there to debug with.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def snapshot(factory: Callable[[], AbstractContextManager[Session]]) -> Iterator[Session]:
    """A read whose statements all see one moment (REPEATABLE READ), never written through:
    a page made of several statements (a case, then its instructions) cannot straddle a
    callback's commit and show every instruction done beside a case still "stopping"."""
    with factory() as session:
        if not session.in_transaction():  # one already begun reads in its own transaction
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def one_of(column: str, values: Iterable[str], *, name: str | None = None) -> CheckConstraint:
    """CHECK (column IN (...)) from an enum, named after the column."""
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name or column)


def unnest_insert(model: type[Base], rows: list[dict[str, Any]]) -> PgInsert:
    """INSERT many rows with one array parameter per column (`INSERT ... SELECT unnest(...)`).

    The statement text and its parameter count stay the same whatever the number of rows,
    so SQLAlchemy compiles it once, psycopg parses it once and PostgreSQL prepares it once;
    a VALUES list of hundreds of parameters is compiled and parsed anew for every request.
    """
    table = model.__table__
    names = list(rows[0])
    columns = [
        func.unnest(
            cast(bindparam(f"u_{name}", [row[name] for row in rows]), ARRAY(table.c[name].type))
        )
        for name in names
    ]
    return pg_insert(model).from_select(names, select(*columns))


def insert_rows(db: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    if rows:
        db.execute(unnest_insert(model, rows))


def among(column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """`column IN ids` as one array parameter (`column = ANY(%s)`): the statement's text is
    the same however many ids, so psycopg and SQLAlchemy do not rebuild a statement of
    hundreds of parameters each time (a big case's page has hundreds of accounts)."""
    found: ColumnElement[bool] = column == any_(literal(list(ids), ARRAY(Integer)))
    return found
