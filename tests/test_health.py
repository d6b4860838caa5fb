"""GET /healthz answers 200 when the database answers and takes writes, 503 when it doesn't."""

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from lhn import database
from lhn.extensions import db
from tests.conftest import PG_URL


def test_healthz_ok(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_database_outage(app, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is down"))

    client = app.test_client()
    with app.app_context():
        monkeypatch.setattr(type(db.session()), "execute", broken)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's database-wide write lock; PostgreSQL has none to hold")
def test_healthz_is_degraded_while_writes_cannot_get_the_lock(make_app, database_url) -> None:
    app = make_app(HEALTH_WRITE_TIMEOUT_MS=50)
    client = app.test_client()
    holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # a writer that holds on (a long import, a stuck request)
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "degraded", "database": "ok", "writes": "blocked"}
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.get("/healthz").status_code == 200
    with app.app_context():  # the probe leaves the pooled connection as it found it
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == database.BUSY_TIMEOUT_MS
