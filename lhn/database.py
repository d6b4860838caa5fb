"""The declarative Base, UTC timestamps, SQLite connection settings and the transaction boundary."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import g, has_app_context
from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic batch migrations can alter tables on SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use lhn.database.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A column for a str enum, stored as its value and checked by a named constraint everywhere."""
    return Enum(
        cls,
        name=name,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=True,
        length=32,
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


# --- SQLite ---------------------------------------------------------------------------------------
# WAL lets readers run beside the one writer. Write transactions begin with BEGIN IMMEDIATE: a
# deferred transaction that reads and then writes gets SQLITE_BUSY whatever busy_timeout says.
# Safe (GET/HEAD) requests are marked read-only and begin deferred, so readers never queue.


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=10000",
        "foreign_keys=ON",
        "temp_store=MEMORY",
        "cache_size=-32768",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN" if is_read_only() else "BEGIN IMMEDIATE")


def mark_read_only() -> None:
    """Say that this request or event only reads, so SQLite may begin deferred transactions."""
    g._lhn_read_only = True


def is_read_only() -> bool:
    return has_app_context() and g.get("_lhn_read_only", False)


def writes(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a GET view that writes (e.g. marks notifications read) so it begins IMMEDIATE."""
    view._lhn_writes = True  # type: ignore[attr-defined]
    return view


def begin_writing() -> None:
    """A read-only (GET) request that writes after all -- an audit row for restricted data it showed -- calls this
    before its first write, then commits with transaction(). It ends the read transaction, so the write begins
    with BEGIN IMMEDIATE on SQLite instead of upgrading a deferred read transaction (which fails at once with
    SQLITE_BUSY if another writer got in first, whatever busy_timeout says). Such a request stays deferred, and
    never queues behind writers, until it knows it must write. Loaded objects are expired, not detached.
    Does nothing outside a read-only request."""
    from lhn.extensions import db

    if is_read_only():
        db.session.commit()  # nothing was written: this only ends the read snapshot
        g._lhn_read_only = False


# --- the transaction boundary ---------------------------------------------------------------------

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the services flushed, or roll it all back if anything raised."""
    from lhn.extensions import db

    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def transactional(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of transaction() for views, API handlers and CLI commands."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction():
            return func(*args, **kwargs)

    return wrapper


# --- database objects made by hand-written DDL ----------------------------------------------------------
# Full-text tables, generated columns and their indexes can't be described by the models. Features
# register their names here; Alembic (env.py) and the schema test leave them out of comparisons.
_UNMANAGED: dict[str, set[Any]] = {"table": set(), "column": set(), "index": set()}


def register_unmanaged(
    *, tables: Iterable[str] = (), columns: Iterable[tuple[str, str]] = (), indexes: Iterable[str] = ()
) -> None:
    _UNMANAGED["table"].update(tables)
    _UNMANAGED["column"].update(columns)
    _UNMANAGED["index"].update(indexes)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's include_object hook: skip objects registered with register_unmanaged."""
    if type_ == "column":
        table = getattr(getattr(obj, "table", None), "name", None)
        return (table, name) not in _UNMANAGED["column"]
    return name not in _UNMANAGED.get(type_, ())
