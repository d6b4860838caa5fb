"""Read and write phases (lhn/database.py): requests read without the write lock, write transactions are short
and take turns, and a failed one gives its turn back."""

import threading
import time

import pytest
from flask import g
from sqlalchemy import func, select

from lhn import database, light_reads
from lhn.accounts.models import User
from lhn.extensions import db
from tests import factories
from tests.conftest import PG_URL, committed

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's database-wide write lock and its writers' turns")
postgres_only = pytest.mark.skipif(not PG_URL, reason="a server database: SQLite has no connection to drop")


@sqlite_only
def test_writers_take_turns_and_a_failed_one_gives_its_turn_back(app):
    with committed(app):
        factories.user(username="first")
    failures, done = [], []

    def writer(n: int, fail: bool) -> None:
        with app.app_context():
            try:
                with database.transaction():
                    factories.user(username=f"writer{n}")
                    time.sleep(0.01)  # a transaction that takes a moment: the others queue behind it
                    if fail:
                        raise RuntimeError("the request failed")
            except RuntimeError:
                failures.append(n)
            else:
                done.append(n)

    threads = [threading.Thread(target=writer, args=(n, n % 4 == 0)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(failures) == [0, 4, 8, 12]
    assert len(done) == 12
    with app.app_context():  # nobody kept a turn: this write doesn't wait
        with database.transaction():
            factories.user(username="last")
        assert db.session.scalar(select(func.count(User.id))) == 14


def test_a_request_reads_without_the_write_lock_and_writes_only_inside_transaction(app):
    with app.test_request_context():
        db.session.scalar(select(func.count(User.id)))
        assert not database.write_lock_held()
        with database.transaction():
            db.session.scalar(select(func.count(User.id)))
            assert database.write_lock_held() or PG_URL  # PostgreSQL has no database-wide lock to hold
            with database.reading():
                db.session.scalar(select(func.count(User.id)))
                assert not database.write_lock_held()
        assert not database.write_lock_held()


def test_slow_work_under_the_write_lock_warns(app):
    with app.test_request_context(), database.transaction():
        factories.user(username="somebody")  # a write: on any database, the transaction now holds it
        with pytest.warns(database.SlowWorkUnderLock):
            database.slow_work("rendering Markdown")


def test_writers_get_their_turn_in_the_order_they_asked():
    turns = database.WriterTurns()
    order: list[int] = []
    turns.acquire()

    def writer(n: int) -> None:
        assert turns.acquire(timeout=10)
        order.append(n)
        turns.release()

    threads = []
    for n in range(12):
        threads.append(threading.Thread(target=writer, args=(n,)))
        threads[-1].start()
        deadline = time.monotonic() + 5
        while turns.waiting() < n + 1 and time.monotonic() < deadline:  # each asks only after the one before
            time.sleep(0.001)
    barging = threading.Thread(target=writer, args=(99,))
    turns.release()
    barging.start()  # arrives as the turn is handed on: it queues behind the twelve
    for thread in [*threads, barging]:
        thread.join(timeout=10)
    assert order == [*range(12), 99]


def test_a_writer_that_gives_up_waiting_leaves_the_queue():
    turns = database.WriterTurns()
    turns.acquire()
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(turns.acquire(timeout=0.05)))
    waiter.start()
    waiter.join(timeout=5)
    assert outcome == [False]
    assert turns.waiting() == 0
    turns.acquire()  # reentrant for the holder
    turns.release()
    turns.release()
    assert turns.acquire(timeout=0)
    turns.release()


@sqlite_only
def test_a_sqlite_file_pools_enough_connections_for_the_requests_one_process_serves(app):
    with app.app_context():
        pool = db.engine.pool
        assert pool.size() == 32
        assert pool._max_overflow == 96  # no public reader of it
        assert not pool._pre_ping  # a file never goes stale


def test_keep_loaded_commits_without_expiring_and_restores_the_default(app, count_queries):
    with committed(app):
        factories.user("patient", username="kept")
    with app.app_context():
        person = db.session.scalar(select(User).where(User.username == "kept"))
        with database.keep_loaded():
            db.session.commit()
            with count_queries() as reloads:
                assert person.display_name
        assert reloads == []
        db.session.commit()  # outside the block commits expire again
        with count_queries() as reloads:
            assert person.display_name
        assert len(reloads) == 1



@postgres_only
def test_a_light_read_survives_a_connection_the_database_dropped(app):
    """light_reads' pool pings nothing before a checkout (a round trip per stored page), so a connection the
    database dropped (a restart) is met by the read itself, which tries once more on a new one."""
    from sqlalchemy import text

    from lhn.config import LIGHT_READS

    with app.app_context():
        light = db.engines[LIGHT_READS]
        assert light.pool._pre_ping is False
        backend = light_reads.first(select(func.pg_backend_pid()))[0]
        assert light.pool.checkedin() == 1  # the next read takes this connection again
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        assert light_reads.first(select(func.pg_backend_pid()))[0] != backend


def test_a_light_read_inside_a_write_neither_waits_for_the_write_lock_nor_ends_the_write(app):
    """A light read runs on a connection of its own. Inside a request's write transaction it must not ask for the
    write lock the request already holds on another connection (it would wait out SQLite's busy timeout), and its
    connection going back must not clear what the request's transaction recorded."""
    from lhn.communities.services import public_content_version

    with committed(app):
        slug = factories.community().slug
    with app.test_request_context(), database.transaction():
        factories.user(username="writing")
        db.session.flush()
        started = time.monotonic()
        assert public_content_version(slug) is not None
        assert time.monotonic() - started < 1
        assert database.write_lock_held() or PG_URL  # PostgreSQL has no database-wide lock to hold
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.username == "writing")) == 1


@postgres_only
def test_one_persons_writes_take_turns_while_other_peoples_go_ahead(app):
    """On SQLite every writer takes turns; on PostgreSQL each person's do (lhn.database._postgres_begin)."""
    with committed(app):
        ids = [factories.user(username=name).id for name in ("ana", "ben")]
    first_holds, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def write(name: str, person: int, hold: bool = False) -> None:
        with app.test_request_context():
            g._login_user = db.session.get(User, person)  # signed in, as Flask-Login leaves it
            with database.transaction():
                factories.user(username="new" + name.replace("-", ""))  # a row of its own: no row lock is shared
                if hold:
                    first_holds.set()
                    release.wait(10)
            finished.append(name)

    first = threading.Thread(target=write, args=("ana-1", ids[0], True))
    first.start()
    assert first_holds.wait(10)
    same, other = (threading.Thread(target=write, args=args) for args in (("ana-2", ids[0]), ("ben", ids[1])))
    same.start()
    other.start()
    other.join(10)
    assert finished == ["ben"]  # another person's write went ahead
    time.sleep(0.2)
    assert "ana-2" not in finished  # ana's second write waits for her first
    release.set()
    first.join(10)
    same.join(10)
    assert finished == ["ben", "ana-1", "ana-2"]
