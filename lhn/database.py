"""The declarative Base, UTC timestamps, SQLite connection settings and the transaction boundary."""

from __future__ import annotations

import atexit
import collections
import enum
import logging
import sqlite3
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import partial, wraps
from typing import Any, ParamSpec, Self, TypeVar

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import (
    CursorResult,
    DateTime,
    Enum,
    Index,
    MetaData,
    Result,
    event,
    select,
    text,
    update,
)
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


log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_or_none(value: date | None) -> str | None:
    """A stored date or timestamp as ISO 8601 text, the form our JSON (API, socket events, my-data export)
    gives it; None stays None."""
    return value.isoformat() if value is not None else None


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


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. Session.execute is typed to return a Result; for a
    statement without RETURNING it is a CursorResult, which holds the count."""
    if not isinstance(result, CursorResult):
        raise TypeError("rows_matched takes the result of an UPDATE or DELETE without RETURNING.")
    return result.rowcount


T = TypeVar("T")


def find_one(model: type[T], **equal: object) -> T | None:
    """The one row of `model` whose columns have the given values (a unique key), or None."""
    return _db().session.scalar(select(model).filter_by(**equal))


def reassign_rows(columns: Iterable[Any], old_id: int, new_id: int) -> None:
    """Every row whose column (a model attribute) holds `old_id` now holds `new_id`, one bulk UPDATE a column:
    how an erased account's record passes to "Former member". The session is not synchronised: expire_all() after."""
    session = _db().session
    for column in columns:
        stmt = update(column.class_).where(column == old_id).values({column: new_id})
        session.execute(stmt.execution_options(synchronize_session=False))


def unchanged_since(row: Any, **seen: object) -> bool:
    """In the write transaction: re-read `row`; do the attributes named in `seen` still have the values read
    earlier, outside the write lock? If not, work prepared from them (a redaction) would overwrite a newer
    edit: the caller raises Conflict."""
    _db().session.refresh(row)
    return all(getattr(row, name) == value for name, value in seen.items())


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


def unique_where(name: str, *columns: str, where: str) -> Index:
    """A partial unique index: `columns` are unique among the rows where the SQL condition `where` holds, on SQLite
    and PostgreSQL alike (each dialect takes the condition under its own keyword)."""
    return Index(name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where))


class LabelledEnum(enum.StrEnum):
    """A str enum with a label for people: its value in words ("under_review" -> "Under review"), or other words a
    member gives beside its value (`CHANGE = "change", "Change idea"`), so no enum repeats its values in a map."""

    _label: str

    def __new__(cls, value: str, label: str | None = None) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = value.replace("_", " ").capitalize() if label is None else label
        return member

    @property
    def label(self) -> str:
        return self._label


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


# --- read and write phases ------------------------------------------------------------------------
# SQLite has one writer at a time. A request or socket event reads in deferred transactions, which never
# wait for the lock, and writes only inside transaction(), whose transaction begins with BEGIN IMMEDIATE
# (a deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another writer
# got in first, whatever busy_timeout says) and commits at the end of the block. Anything slow -- rendering
# Markdown, the PHI scan, parsing an upload, computing charts -- runs before the write transaction: in a
# service's `with reading():` block, or in a view before `with transaction():`. So the lock is held for
# milliseconds and no request slows down the others' writes. PostgreSQL follows the same phases, so its
# row locks are as short. slow_work() and the statement hook below warn when a path breaks the rule; the
# test suite turns warnings into errors. Outside requests (CLI, background jobs) every transaction writes
# unless mark_read_only() says otherwise.


class SlowWorkUnderLock(RuntimeWarning):
    """Rendering, scanning or parsing ran while this request held the database write lock."""


class WriteOutsideTransaction(RuntimeWarning):
    """A request wrote outside transaction(): on SQLite its deferred transaction may fail with SQLITE_BUSY."""


def configure_engine(engine: Engine, *, writing_person: Callable[[], int | None] = lambda: None) -> None:
    event.listen(engine, "before_cursor_execute", _note_writes)
    event.listen(engine, "commit", _transaction_ended)
    event.listen(engine, "rollback", _transaction_ended)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", partial(_postgres_begin, writing_person))
    if engine.dialect.name == "sqlite":
        writers = WriterTurns()  # this process's writers take turns here (see _sqlite_begin)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", partial(_sqlite_begin, writers))
        event.listen(engine, "commit", _release_writer_turn)
        event.listen(engine, "rollback", _release_writer_turn)
        # A connection given back (or dropped) without COMMIT or ROLLBACK must not keep the turn.
        event.listen(engine.pool, "checkin", lambda _dbapi, record: _release_writer_turn(record))
        event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: _release_writer_turn(record))
        # Close the pool's connections when the process ends: SQLite folds the WAL back into the database file
        # only when the last connection closes, and interpreter shutdown does not reliably close them (a copy
        # of the file alone, as the live tests' demo template, would then be empty).
        atexit.register(_dispose_at_exit, weakref.ref(engine))  # weak: test sessions create many apps


def _dispose_at_exit(engine: weakref.ref[Engine]) -> None:
    alive = engine()
    if alive is not None:
        alive.dispose()


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
        "temp_store=MEMORY",
        "cache_size=-32768",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


LIGHT_READ = "lhn_light_read"  # the execution option that marks lhn/light_reads.py's connections
BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for SQLite's lock before "database is locked"
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriterTurns:
    """A reentrant lock that hands itself over in arrival order. threading.RLock wakes an arbitrary waiter (and a
    thread that just arrived may barge in first), so under 20 writers one could lose the race many times over
    and wait far longer than the queue ahead of it; here each waits only for those who came before."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiting: collections.deque[tuple[int, threading.Event]] = collections.deque()

    def acquire(self, timeout: float = -1) -> bool:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._waiting:
                self._owner, self._depth = me, 1
                return True
            turn = (me, threading.Event())
            self._waiting.append(turn)
        turn[1].wait(None if timeout < 0 else timeout)
        with self._mutex:
            if self._owner == me:  # handed over, perhaps just as the wait timed out: take it
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a writer's turn this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            if self._waiting:
                ident, event = self._waiting.popleft()
                self._owner, self._depth = ident, 1
                event.set()

    def waiting(self) -> int:
        with self._mutex:
            return len(self._waiting)


def _sqlite_begin(writers: WriterTurns, conn: Any) -> None:
    """Begin a transaction in the current phase. A writer first waits for its turn among this process's writers:
    SQLite's own busy handler polls with sleeps that grow to 100 ms and is not fair, so under many writers some
    waited seconds and a few gave up ("database is locked"); a lock queues them without polling, so each waits
    only for the short transactions ahead of it. busy_timeout still covers other processes (the CLI).
    A light read (lhn/light_reads.py) begins nothing: its one SELECT is a transaction of its own, and asking for the
    write lock a request holds on another connection would wait out the busy timeout."""
    if conn.get_execution_options().get(LIGHT_READ):
        return
    if not _writing():
        conn.exec_driver_sql("BEGIN")
        return
    if not writers.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise sqlite3.OperationalError("database is locked (no turn among this process's writers)")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        writers.release()
        raise
    conn.info["lhn_writer_turn"] = writers
    _set_flag("_lhn_locked")


def _postgres_begin(writing_person: Callable[[], int | None], conn: Any) -> None:
    """A request's write transaction first takes its person's lock (the transaction's first lock: no deadlock), so
    one person's writes take turns as everyone's do on SQLite: a service's "already voted?" and its insert can't be
    split by a double click, which in read committed stored two rows or hit a unique constraint. Others don't wait."""
    if conn.get_execution_options().get(LIGHT_READ) or not has_request_context() or not _writing():
        return
    person = writing_person()
    if person is not None:  # the lock's two keys: "LHN" and the person
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(lhn)s, %(id)s)", {"lhn": 0x4C484E, "id": person})


def _release_writer_turn(conn: Any) -> None:
    """After COMMIT or ROLLBACK (`conn`: a Connection, or the pool's record of one)."""
    writers = conn.info.pop("lhn_writer_turn", None) if conn is not None else None
    if writers is not None:
        writers.release()


def _note_writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """A statement that writes or locks rows marks the transaction as holding writes (reading() can't end it)."""
    if statement.lstrip()[:7].upper().startswith(_WRITE_VERBS) or " FOR UPDATE" in statement:
        if has_request_context() and not _writing():
            warnings.warn(f"a write outside transaction(): {statement[:60]}", WriteOutsideTransaction, stacklevel=2)
        _set_flag("_lhn_locked")
        _set_flag("_lhn_wrote")


def _transaction_ended(conn: Any) -> None:
    """The request's transaction ended; a light read's connection going back is not it."""
    if has_app_context() and not conn.get_execution_options().get(LIGHT_READ):
        g.pop("_lhn_locked", None)
        g.pop("_lhn_wrote", None)


def _set_flag(name: str) -> None:
    if has_app_context():
        setattr(g, name, True)


def _db() -> Any:
    """The app's Flask-SQLAlchemy object (lhn.extensions.db), found through the app: lhn.extensions imports this
    module for Base, so importing it back would make a circle."""
    return current_app.extensions["sqlalchemy"]


def _writing() -> bool:
    """Whether statements now belong to a write transaction (see the comment above)."""
    if not has_app_context():
        return True
    phase = g.get("_lhn_phase")
    return not has_request_context() if phase is None else phase == "write"


def _set_writing(writing: bool) -> None:
    g._lhn_phase = "write" if writing else "read"


def mark_read_only() -> None:
    """Say that this context (a background job, the CLI) only reads, so SQLite may begin deferred transactions.
    Requests and socket events read this way already."""
    _set_writing(False)


def write_lock_held() -> bool:
    """Whether this context's transaction holds SQLite's write lock (or, on any database, wrote or locked rows)."""
    return has_app_context() and bool(g.get("_lhn_locked"))


def slow_work(what: str) -> None:
    """Called by anything slow (rendering, the PHI scan, parsing uploads): in a request, warns when it runs while
    the write lock is held. Services and tests that call services directly are not requests."""
    if has_request_context() and write_lock_held():
        warnings.warn(f"{what} while holding the database write lock", SlowWorkUnderLock, stacklevel=3)


def can_write(*, timeout_ms: int) -> bool:
    """Whether a writer gets SQLite's write lock within `timeout_ms` (it takes it and gives it back at once).
    Always true on PostgreSQL, which has no database-wide write lock."""
    db = _db()
    if db.engine.dialect.name != "sqlite":
        return True
    raw = db.engine.raw_connection()  # not the session's: this must not end the request's transaction
    try:
        raw.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # "database is locked"
            return False
        raw.execute("ROLLBACK")
        return True
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        raw.close()  # back to the pool


def _end_transaction() -> None:
    """Commit what this context's session holds (only reads, where callers use it) so the next statement begins
    a new transaction in the current phase. Loaded objects are expired: they reload from the new snapshot."""
    db = _db()
    if db.session().in_transaction():
        db.session.commit()


# --- the transaction boundary ---------------------------------------------------------------------

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def transaction() -> Iterator[None]:
    """The write transaction: it begins with the block (ending the request's read snapshot, on SQLite with
    BEGIN IMMEDIATE) and commits what the services flushed, or rolls it all back if anything raised.
    Afterwards a request reads again."""
    db = _db()
    was_writing = _writing()
    if not was_writing:
        _end_transaction()
        _set_writing(True)
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        if not was_writing:
            _set_writing(False)


def transactional(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of transaction() for views, API handlers and CLI commands."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction():
            return func(*args, **kwargs)

    return wrapper


def after_response(response: Any, work: Callable[..., object], *args: Any) -> Any:
    """Run `work(*args)` in its own write transaction once `response` has been sent (the server closes it), in a
    request context on the same host (links built then point where this request came from), and return the
    response. For work whose cost must not show in the answer's timing: a password reset request costs an email
    when an account uses the address and nothing when none does, and the answer must not say which. A failure is
    logged; the answer has gone already."""
    app, host_url = current_app._get_current_object(), request.host_url  # type: ignore[attr-defined]

    def run() -> None:
        with app.test_request_context(base_url=host_url):
            try:
                with transaction():
                    work(*args)
            except Exception:  # nobody is waiting for an answer any more: log it
                log.exception("work after the response failed")

    response.call_on_close(run)
    return response


@contextmanager
def keep_loaded() -> Iterator[None]:
    """Commits inside the block leave loaded objects as they are instead of expiring them, so nothing reloads after
    the snapshot ends. For hot paths whose later steps must not act on anything stale: they re-read (a locked row
    with populate_existing, a query) what their writes depend on, and use the rest (a sender's name, a role for a
    badge) as it was a moment before."""
    session = _db().session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before


def end_snapshot() -> None:
    """Let the next statement see what others committed since this transaction first read, keeping loaded objects.
    SQLite holds a read transaction's snapshot until it ends; PostgreSQL (read committed) takes a new one for each
    statement, so there it costs nothing (no COMMIT, no new BEGIN: two round trips on a socket join)."""
    db = _db()
    if db.session.get_bind().dialect.name == "sqlite":
        with keep_loaded():
            db.session.commit()


@contextmanager
def reading() -> Iterator[None]:
    """The slow part of a write service (rendering, the PHI scan, parsing), run without the write lock: ends the
    write transaction while it holds nothing yet, reads in a snapshot of its own, then the service writes in a
    new write transaction -- where it must read again anything its writes depend on, since others may have
    written meanwhile. If the transaction already holds writes (a CLI batch, a test's setup) the block runs
    inside it."""
    db = _db()
    if not _writing() or g.get("_lhn_wrote") or db.session.new or db.session.dirty or db.session.deleted:
        yield
        return
    _end_transaction()
    _set_writing(False)
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    else:
        _end_transaction()
    finally:
        _set_writing(True)
