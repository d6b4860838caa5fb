"""The audit trail of measure data: every CSV and FHIR data export (pages and API) and every view of a site's data
withheld from others (its chart with masked cells, its submission history) by its own team. Rows hold actor,
action, object and time, never the data."""

import sqlite3
import time

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.extensions import db
from lhn.moderation.models import AuditEvent
from tests import factories
from tests.api.test_api import bearer, token_for
from tests.conftest import PG_URL, committed, login


def seed(app):
    """North reports 8 in remission one month (a small cell, withheld from everyone outside North's team);
    South's cells are never small, but South is too small a network to be covered: nothing of it is masked."""
    with committed(app):
        doc, south = accounts.get_user("doc"), accounts.get_user("dr_south")
        measure = factories.measure(communities.get_community("ibd"), doc)
        factories.consent(measure, doc, "north")
        factories.consent(measure, south, "south")
        factories.values(measure, doc, "north", [(60, 100), (8, 40), (62, 100)], start="2024-01")
        factories.values(measure, south, "south", [(40, 60), (41, 62), (44, 60)], start="2024-01")
        return measure.id, measure.community_id


def events(app):
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.object_type, e.object_id, e.actor_id, e.actor_role, e.community_id) for e in rows]


def user_id(app, username):
    with app.app_context():
        return accounts.get_user(username).id


@pytest.mark.parametrize(
    ("url", "action"),
    [
        ("/measures/{id}/data.csv", "measure.export.csv"),
        ("/api/v1/measures/{id}/data.csv", "measure.export.csv"),
        ("/measures/{id}/fhir/reports.json", "measure.export.fhir"),
        ("/api/v1/measures/{id}/fhir", "measure.export.fhir"),
    ],
)
def test_every_data_export_is_audited(app, client, network, url, action):
    measure_id, community_id = seed(app)
    login(client, "teen")
    assert client.get(url.format(id=measure_id)).status_code == 200
    assert events(app) == [(action, "measure", measure_id, user_id(app, "teen"), "member", community_id)]


def test_anonymous_exports_and_definitions(app, client, network):
    measure_id, community_id = seed(app)
    assert client.get(f"/api/v1/measures/{measure_id}/data.csv").status_code == 200  # a public community
    assert events(app) == [("measure.export.csv", "measure", measure_id, None, "anonymous", community_id)]
    client.get(f"/api/v1/measures/{measure_id}/fhir?resource=Measure")  # the definition: no data in it
    client.get(f"/measures/{measure_id}/fhir/measure.json")
    assert len(events(app)) == 1


def test_a_team_viewing_its_own_withheld_data_is_audited_nobody_else_is(app, client, network):
    measure_id, community_id = seed(app)
    login(client, "teen")  # outside every team: sees the suppressed chart
    client.get(f"/measures/{measure_id}?site=north")
    client.get(f"/api/v1/measures/{measure_id}/chart?site=north")
    login(client, "dr_south")  # South's data is withheld from nobody
    client.get(f"/measures/{measure_id}?site=south")
    client.get(f"/api/v1/measures/{measure_id}/chart?site=south")
    client.get(f"/measures/{measure_id}")  # the network chart
    assert events(app) == []
    login(client, "doc")
    page = client.get(f"/measures/{measure_id}?site=north")
    assert page.status_code == 200
    token = bearer(token_for(client, "doc"))
    chart = client.get(f"/api/v1/measures/{measure_id}/chart?site=north", headers=token).get_json()
    assert not any(p["masked"] for p in chart["points"])
    viewed = ("measure.viewed", "measure", measure_id, user_id(app, "doc"), "member", community_id)
    assert events(app) == [viewed, viewed]


def test_a_sites_submission_history_is_restricted_data(app, client, network):
    measure_id, community_id = seed(app)
    login(client, "dr_south")
    assert client.get(f"/measures/{measure_id}/sites/south/history").status_code == 200
    token = bearer(token_for(client, "dr_south"))
    assert client.get(f"/api/v1/measures/{measure_id}/sites/south/history", headers=token).status_code == 200
    assert client.get(f"/measures/{measure_id}/sites/north/history").status_code == 404  # not their site
    viewed = ("measure.viewed", "measure", measure_id, user_id(app, "dr_south"), "member", community_id)
    assert events(app) == [viewed, viewed]


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock: PostgreSQL readers never take one")
def test_readers_of_unrestricted_charts_never_wait_for_the_sqlite_write_lock(app, client, network):
    measure_id, _community_id = seed(app)
    login(client, "teen")
    with app.app_context():
        path = db.engine.url.database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock for the whole request
    try:
        started = time.monotonic()
        assert client.get(f"/measures/{measure_id}?site=north").status_code == 200
        assert client.get(f"/api/v1/measures/{measure_id}/chart?site=north").status_code == 200
        assert time.monotonic() - started < 5  # busy_timeout is 10 s: nothing waited for the lock
    finally:
        holder.execute("ROLLBACK")
        holder.close()
