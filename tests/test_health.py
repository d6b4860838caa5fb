"""GET /healthz answers 200 when the database answers and 503 when it doesn't."""

from sqlalchemy.exc import OperationalError

from lhn.extensions import db


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
