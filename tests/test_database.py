"""Read and write phases (lhn/database.py): requests read without the write lock, write transactions are short
and take turns, and a failed one gives its turn back."""

import threading
import time

import pytest
from sqlalchemy import func, select

from lhn import database
from lhn.accounts.models import User
from lhn.extensions import db
from tests import factories
from tests.conftest import PG_URL, committed

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's database-wide write lock and its writers' turns")


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
